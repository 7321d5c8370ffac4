"""Steepest descent with a closed-form step length: the unrolled optimiser of DiMP and LWL.

Both learners minimise, per sequence,

    L(f) = 1/2 sum_n || w_n * (act(X_n f) - y_n) ||^2 + reg/2 * ||f||^2

where ``X_n f`` is the filter response on frame n, ``y_n`` the target (DiMP: a Gaussian
label; LWL: the label encoding E(y)) and ``w_n`` per-frame or per-pixel residual weights
(LWL's weight predictor W(y) produces the latter). ``act`` is the identity (LWL) or DiMP's
hinge-like activation ``m*s + (1-m)*max(s, 0)`` with target-region mask ``m``: inside the
target region the score must equal the label, in the background only positive scores are
penalised.

Each iteration takes the gradient ``g`` and moves along it by the step that minimises the
Gauss-Newton (i.e. locally quadratic) model of ``L`` along ``-g``:

    alpha = ||g||^2 / (||J g||^2 + reg ||g||^2),    f <- f - step_length * alpha * g

For LWL's quadratic loss that is the exact line minimum, so the loss decreases
monotonically. Because the step is computed in closed form from tensors only, the whole
loop is differentiable and can be unrolled inside a network for meta-training, and it
never reads a value back to the host.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .linear_filter import apply_filter, filter_gradient


def _as_seq_param(value, like: torch.Tensor) -> torch.Tensor:
    """Scalar or per-sequence [S] value shaped to broadcast against [S, F, C, kh, kw]."""
    tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if tensor.dim() > 1 or (tensor.dim() == 1 and tensor.shape[0] not in (1, like.shape[0])):
        raise ValueError(f"expected a scalar or one value per sequence ({like.shape[0]}), got {tuple(tensor.shape)}")
    return tensor.reshape(-1, 1, 1, 1, 1)


def _per_sequence_sum(values: torch.Tensor) -> torch.Tensor:
    return values.reshape(values.shape[0], -1).sum(dim=1)


def steepest_descent(
    filt: torch.Tensor,
    feat: torch.Tensor,
    target: torch.Tensor,
    *,
    reg_weight,
    num_iters: int,
    residual_weights: torch.Tensor | None = None,
    target_mask: torch.Tensor | None = None,
    step_length=1.0,
    padding=None,
    min_denominator: float = 1e-8,
    return_losses: bool = False,
):
    """Run ``num_iters`` steepest-descent steps from ``filt`` (see module docstring).

    Shapes (S sequences, N frames; all may drop the leading S together):
        filt [S, F, C, kh, kw], feat [S, N, C, H, W], target [S, N, F, Ho, Wo];
        residual_weights and target_mask broadcastable to target (e.g. [S, N, 1, 1, 1]);
        reg_weight and step_length scalars or per-sequence [S] (tensors may require grad).

    ``target_mask`` switches on DiMP's hinge activation. Returns the filter, or
    ``(filter, losses)`` with ``losses`` [num_iters + 1, S] (before every step and at the
    end) when ``return_losses``.
    """
    if int(num_iters) != num_iters or num_iters < 0:
        raise ValueError(f"num_iters must be a non-negative integer, got {num_iters!r}")
    unbatched = filt.dim() == 4
    if unbatched:
        filt, feat, target = filt.unsqueeze(0), feat.unsqueeze(0), target.unsqueeze(0)
        residual_weights = None if residual_weights is None else residual_weights.unsqueeze(0)
        target_mask = None if target_mask is None else target_mask.unsqueeze(0)
    filter_size = filt.shape[-2:]
    reg = _as_seq_param(reg_weight, filt)
    step = _as_seq_param(step_length, filt)
    weights_sq = None if residual_weights is None else residual_weights * residual_weights

    def residual_terms(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Activated residual and the activation's derivative (None = identity)."""
        if target_mask is None:
            return scores - target, None
        positive = (scores > 0).to(scores.dtype)
        deriv = target_mask + (1.0 - target_mask) * positive
        activated = target_mask * scores + (1.0 - target_mask) * scores * positive
        return activated - target, deriv

    def loss_of(f: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        weighted = residual * residual if weights_sq is None else weights_sq * residual * residual
        return 0.5 * _per_sequence_sum(weighted) + 0.5 * reg.reshape(-1) * _per_sequence_sum(f * f)

    losses = []
    for _ in range(int(num_iters)):
        residual, deriv = residual_terms(apply_filter(feat, filt, padding))
        if return_losses:
            losses.append(loss_of(filt, residual))
        mapped = residual if weights_sq is None else weights_sq * residual
        if deriv is not None:
            mapped = deriv * mapped
        grad = filter_gradient(feat, mapped, filter_size, padding) + reg * filt
        grad_scores = apply_filter(feat, grad, padding)
        if deriv is not None:
            grad_scores = deriv * grad_scores
        weighted_sq = grad_scores * grad_scores if weights_sq is None else weights_sq * grad_scores * grad_scores
        grad_norm_sq = _per_sequence_sum(grad * grad)
        denominator = (_per_sequence_sum(weighted_sq) + reg.reshape(-1) * grad_norm_sq).clamp(min=min_denominator)
        alpha = (grad_norm_sq / denominator).reshape(-1, 1, 1, 1, 1)
        filt = filt - step * alpha * grad

    if return_losses:
        residual, _ = residual_terms(apply_filter(feat, filt, padding))
        losses.append(loss_of(filt, residual))
    result = filt[0] if unbatched else filt
    if not return_losses:
        return result
    stacked = torch.stack(losses) if losses else filt.new_zeros(0, filt.shape[0])
    return result, (stacked[:, 0] if unbatched else stacked)


class _LearnedRegAndStep(nn.Module):
    """Regularisation and step length as learnable scalars, kept positive by construction."""

    def __init__(self, init_filter_reg: float, init_step_length: float, min_filter_reg: float, learnable: bool):
        super().__init__()
        if init_filter_reg <= 0 or init_step_length <= 0:
            raise ValueError(
                f"initial filter_reg and step_length must be positive, got {init_filter_reg}, {init_step_length}"
            )
        self.min_filter_reg = float(min_filter_reg)
        self.filter_reg = nn.Parameter(torch.tensor(float(init_filter_reg)), requires_grad=learnable)
        self.log_step_length = nn.Parameter(torch.tensor(math.log(init_step_length)), requires_grad=learnable)

    def reg_weight(self) -> torch.Tensor:
        # Squared so the sign of the learnt parameter cannot flip the regulariser.
        return (self.filter_reg * self.filter_reg).clamp(min=self.min_filter_reg**2)

    def step_length(self) -> torch.Tensor:
        return torch.exp(self.log_step_length)


class DiMPSteepestDescent(_LearnedRegAndStep):
    """DiMP's model optimiser: hinge-like residual, closed-form step, unrolled ``num_iters`` times.

    ``sample_weights`` [S, N] are memory weights on the *squared* residual (as in
    :class:`SampleMemory`); their square roots weight the residual. Default: 1/N per frame.
    """

    def __init__(
        self,
        num_iters: int = 5,
        init_filter_reg: float = 1e-2,
        init_step_length: float = 1.0,
        min_filter_reg: float = 1e-3,
        learnable: bool = True,
    ):
        super().__init__(init_filter_reg, init_step_length, min_filter_reg, learnable)
        self.num_iters = int(num_iters)

    def forward(
        self,
        filt: torch.Tensor,
        feat: torch.Tensor,
        labels: torch.Tensor,
        target_mask: torch.Tensor,
        sample_weights: torch.Tensor | None = None,
        num_iters: int | None = None,
        return_losses: bool = False,
    ):
        batched = feat.dim() == 5
        num_frames = feat.shape[1] if batched else feat.shape[0]
        if sample_weights is None:
            sample_weights = feat.new_full(feat.shape[:2] if batched else feat.shape[:1], 1.0 / num_frames)
        residual_weights = sample_weights.sqrt().reshape(*sample_weights.shape, 1, 1, 1)
        return steepest_descent(
            filt,
            feat,
            labels,
            reg_weight=self.reg_weight(),
            num_iters=self.num_iters if num_iters is None else num_iters,
            residual_weights=residual_weights,
            target_mask=target_mask,
            step_length=self.step_length(),
            return_losses=return_losses,
        )


class LWLFewShotLearner(_LearnedRegAndStep):
    """LWL's few-shot learner: fits the target model ``T_tau`` to label encodings E(y).

    Minimises ``1/2 sum ||W(y) * (T_tau(x) - E(y))||^2 + lambda/2 ||tau||^2`` (RTS eq. 1) by
    steepest descent; ``residual_weights`` is the weight predictor's output W(y) (multiplies
    the residual, per pixel and optionally per encoding channel). Optional memory
    ``sample_weights`` ([S, N], summing to one like :class:`SampleMemory` weights) weight
    the squared residual of each frame on top. Starts from zero unless an initial filter is
    given.
    """

    def __init__(
        self,
        filter_size: int = 3,
        num_iters: int = 5,
        init_filter_reg: float = 1e-2,
        init_step_length: float = 1.0,
        min_filter_reg: float = 1e-5,
        learnable: bool = True,
    ):
        super().__init__(init_filter_reg, init_step_length, min_filter_reg, learnable)
        if filter_size <= 0:
            raise ValueError(f"filter_size must be positive, got {filter_size!r}")
        self.filter_size = int(filter_size)
        self.num_iters = int(num_iters)

    def forward(
        self,
        feat: torch.Tensor,
        label_encoding: torch.Tensor,
        residual_weights: torch.Tensor | None = None,
        initial_filter: torch.Tensor | None = None,
        num_iters: int | None = None,
        return_losses: bool = False,
        sample_weights: torch.Tensor | None = None,
    ):
        if sample_weights is not None:
            # Memory weights ([S, N] or [N]) act on the squared residual, W(y) on the residual.
            frame_weights = sample_weights.sqrt().reshape(*sample_weights.shape, 1, 1, 1)
            residual_weights = frame_weights if residual_weights is None else residual_weights * frame_weights
        if initial_filter is None:
            batched = feat.dim() == 5
            channels = feat.shape[2] if batched else feat.shape[1]
            num_filters = label_encoding.shape[2] if batched else label_encoding.shape[1]
            shape = (num_filters, channels, self.filter_size, self.filter_size)
            initial_filter = feat.new_zeros((feat.shape[0], *shape) if batched else shape)
        return steepest_descent(
            initial_filter,
            feat,
            label_encoding,
            reg_weight=self.reg_weight(),
            num_iters=self.num_iters if num_iters is None else num_iters,
            residual_weights=residual_weights,
            step_length=self.step_length(),
            return_losses=return_losses,
        )
