"""The two online target models of RTS and their unrolled learners.

* ``SegmentationTargetModel`` (official name ``target_model``): features ``x_s`` (a 3x3 conv
  and instance L2 normalisation on the stride-16 backbone level), the target model
  ``T_tau`` (a 3x3 conv with 16 output channels) and the few-shot learner ``A`` that fits
  ``tau`` by steepest descent on Eq. (1) with a learnt regulariser ``lambda_s``.
* ``InstanceTargetModel`` (official name ``classifier``): features ``x_c`` (a strided 3x3
  conv and L2 normalisation: stride 32), the filter initialiser of DiMP (3x3 conv, then
  Precise RoI Pooling of the target box into a 4x4 filter) and the steepest-descent
  Gauss-Newton optimiser on the hinge residual of Eq. (2) (fixed ``lambda_c``).

Both learners are the core's :func:`trackerzoo.learners.steepest_descent`; only the way
their regularisers are stored differs (official layout: ``residual_module.filter_reg``,
shape [1], for the segmentation learner; a constant for the instance learner).
Shapes: S sequences, N memory frames; features ``[S, N, C, H, W]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trackerzoo import ops
from trackerzoo.learners import apply_filter, steepest_descent
from trackerzoo_rts.model.blocks import InstanceL2Norm, he_normal_


def feature_norm_scale(feature_dim: int, filter_size: int) -> float:
    """DiMP's L2-normalisation scale ``sqrt(1 / (C * k * k))`` (pytracking ``rts_net.py``)."""
    return math.sqrt(1.0 / (feature_dim * filter_size * filter_size))


class _Regulariser(nn.Module):
    """Holds the learnt ``filter_reg`` under the official key ``residual_module.filter_reg``."""

    def __init__(self, init_filter_reg: float) -> None:
        super().__init__()
        self.filter_reg = nn.Parameter(torch.full((1,), float(init_filter_reg)))


class SegmentationLearner(nn.Module):
    """Few-shot learner A: steepest descent on ``1/2 sum ||W(y)(T_tau(x) - E(y))||^2 + lambda_s/2 ||tau||^2``.

    ``lambda_s = filter_reg**2`` (the official residual is ``filter_reg * tau``). Source:
    RTS Eq. (1); pytracking ``ltr/models/rts/loss_residual_modules.py`` and
    ``ltr/models/meta/steepestdescent.py`` (the GN step length is the closed form of
    :func:`trackerzoo.learners.steepest_descent`).
    """

    def __init__(self, init_filter_reg: float = 1e-2, num_iters: int = 5) -> None:
        super().__init__()
        self.residual_module = _Regulariser(init_filter_reg)
        self.num_iters = int(num_iters)

    def forward(self, filt: torch.Tensor, feat: torch.Tensor, label: torch.Tensor, weights: torch.Tensor,
                num_iters: int | None = None) -> list[torch.Tensor]:
        """All iterates ``[tau_0, ..., tau_n]``, each ``[S, F, C, k, k]``.

        ``feat [S, N, C, H, W]``, ``label`` = E(y) ``[S, N, F, H, W]``, ``weights`` =
        residual weights (W(y), optionally times memory weights) broadcastable to ``label``.
        """
        reg = self.residual_module.filter_reg * self.residual_module.filter_reg
        iterates = [filt]
        for _ in range(self.num_iters if num_iters is None else int(num_iters)):
            filt = steepest_descent(filt, feat, label, reg_weight=reg, num_iters=1, residual_weights=weights)
            iterates.append(filt)
        return iterates


class SegmentationTargetModel(nn.Module):
    """``x_s = L2norm(conv3x3(backbone level))``, ``x_m = T_tau(x_s)``; tau from :class:`SegmentationLearner`."""

    def __init__(self, in_channels: int, feature_dim: int, num_filters: int = 16, filter_size: int = 3,
                 init_filter_reg: float = 1e-2, num_iters: int = 5) -> None:
        super().__init__()
        self.filter_size = int(filter_size)
        self.num_filters = int(num_filters)
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(in_channels, feature_dim, 3, padding=1, bias=False),
            InstanceL2Norm(feature_norm_scale(feature_dim, filter_size)),
        )
        he_normal_(self.feature_extractor)
        self.filter_optimizer = SegmentationLearner(init_filter_reg, num_iters)

    def features(self, backbone_level: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, H, W] -> x_s [B, C, H, W]``."""
        return self.feature_extractor(backbone_level)

    def zero_filter(self, feat: torch.Tensor) -> torch.Tensor:
        """The initial filter (zeros, official ``FilterInitializerZero``) ``[S, F, C, k, k]``.

        ``feat``: ``[S, N, C, H, W]``.
        """
        k = self.filter_size
        return feat.new_zeros(feat.shape[0], self.num_filters, feat.shape[2], k, k)

    def apply(self, filt: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """Mask encoding ``x_m = T_tau(x_s)``: ``[S, N, F, H, W]``."""
        return apply_filter(feat, filt)


class InstanceLearner(nn.Module):
    """DiMP's optimiser on ``sum_n w_n ||r(T_kappa(x_n), y_n)||^2 + lambda_c ||kappa||^2`` (RTS Eq. 2).

    Residual ``r = act(s, m) - m * y`` with the target mask ``m = min(1, [y > t] + leak)`` and
    ``act(s, m) = m*s + (1-m)*max(s, 0)`` (= pytracking's ``LeakyReluPar``). ``lambda_c =
    filter_reg**2`` with the constant ``filter_reg`` = 0.01. Source: pytracking
    ``ltr/models/target_classifier/residual_modules.py`` (``LinearFilterHinge``).
    """

    def __init__(self, filter_reg: float = 1e-2, hinge_threshold: float = 0.05, activation_leak: float = 0.1,
                 num_iters: int = 5) -> None:
        super().__init__()
        self.filter_reg = float(filter_reg)
        self.hinge_threshold = float(hinge_threshold)
        self.activation_leak = float(activation_leak)
        self.num_iters = int(num_iters)

    def forward(self, filt: torch.Tensor, feat: torch.Tensor, labels: torch.Tensor,
                sample_weights: torch.Tensor | None = None, num_iters: int | None = None) -> list[torch.Tensor]:
        """Iterates ``[kappa_0, ..., kappa_n]`` each ``[S, 1, C, 4, 4]``.

        ``feat [S, N, C, H, W]``, ``labels [S, N, 1, H+1, W+1]`` (Gaussian), ``sample_weights``
        ``[S, N]`` on the squared residual (default ``1/N``).
        """
        mask = ((labels > self.hinge_threshold).to(labels.dtype) + self.activation_leak).clamp(max=1.0)
        if sample_weights is None:
            weights = feat.new_full((1, 1, 1, 1, 1), math.sqrt(1.0 / feat.shape[1]))
        else:
            weights = sample_weights.sqrt().reshape(*sample_weights.shape[:2], 1, 1, 1)
        iterates = [filt]
        for _ in range(self.num_iters if num_iters is None else int(num_iters)):
            filt = steepest_descent(filt, feat, mask * labels, reg_weight=self.filter_reg**2, num_iters=1,
                                    residual_weights=weights, target_mask=mask)
            iterates.append(filt)
        return iterates


class FilterInitializer(nn.Module):
    """DiMP's ``FilterInitializerLinear``: 3x3 conv, Precise RoI Pooling of the target box to ``k x k``.

    ``pool_stride``: the stride assumed when mapping boxes to the feature map. The official
    RTS network pools its stride-32 features with DiMP's default 16 (``feature_stride``
    is never set in ``rts_net.py``); the ``resnet50`` variant keeps that for equivalence,
    our own variant uses the true 32.
    """

    def __init__(self, feature_dim: int, filter_size: int = 4, pool_stride: int = 16) -> None:
        super().__init__()
        self.filter_conv = nn.Conv2d(feature_dim, feature_dim, 3, padding=1)
        he_normal_(self)
        self.filter_size = int(filter_size)
        self.pool_stride = int(pool_stride)
        self.backend = "auto"

    def forward(self, feat: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """``feat [S, N, C, H, W]``, ``boxes [S, N, 4]`` (x, y, w, h, crop pixels) -> ``[S, 1, C, k, k]``.

        The pooled filters of a sequence's frames are averaged.
        """
        num_seq, num_frames = feat.shape[:2]
        flat = self.filter_conv(feat.reshape(-1, *feat.shape[-3:]))
        xywh = boxes.reshape(-1, 4).to(flat.dtype)
        index = torch.arange(xywh.shape[0], device=flat.device, dtype=flat.dtype).reshape(-1, 1)
        rois = torch.cat([index, xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1)
        pooled = ops.prroi_pool(flat, rois, (self.filter_size, self.filter_size), 1.0 / self.pool_stride)
        pooled = pooled.reshape(num_seq, num_frames, *pooled.shape[1:]).mean(dim=1)
        return pooled.unsqueeze(1)


class InstanceTargetModel(nn.Module):
    """``x_c = L2norm(strided conv3x3(backbone level))``; ``s_c = T_kappa(x_c)`` with a 4x4 filter."""

    def __init__(self, in_channels: int, feature_dim: int, filter_size: int = 4, pool_stride: int = 16,
                 norm_filter_size: int = 3, num_iters: int = 5, hinge_threshold: float = 0.05,
                 activation_leak: float = 0.1, filter_reg: float = 1e-2) -> None:
        super().__init__()
        self.filter_size = int(filter_size)
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(in_channels, feature_dim, 3, padding=1, bias=False, stride=2),
            InstanceL2Norm(feature_norm_scale(feature_dim, norm_filter_size)),
        )
        he_normal_(self.feature_extractor)
        self.filter_initializer = FilterInitializer(feature_dim, filter_size, pool_stride)
        self.filter_optimizer = InstanceLearner(filter_reg, hinge_threshold, activation_leak, num_iters)

    def features(self, backbone_level: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, H, W] -> x_c [B, C, H/2, W/2]``."""
        return self.feature_extractor(backbone_level)

    def learn(self, feat: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor,
              num_iters: int | None = None) -> list[torch.Tensor]:
        """Initialise from the boxes and optimise: the iterates ``kappa_0..kappa_n`` (Eq. 4 uses all)."""
        return self.filter_optimizer(self.filter_initializer(feat, boxes), feat, labels, num_iters=num_iters)

    def apply(self, filt: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """Scores ``s_c [S, N, 1, H+1, W+1]`` (even filter: one more row and column)."""
        return apply_filter(feat, filt)
