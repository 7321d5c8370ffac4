"""ATOM's online DCF learner: Gauss-Newton outer loop, conjugate-gradient inner loop.

The target model is a linear DCF: scores ``s_n = conv2d(P x_n, f)`` with filter ``f``
[F, D, k, k] and, optionally, a 1x1 projection ``P`` [D, C] that compresses the backbone
features (ATOM: C=1024 -> D=64). The loss is

    L = sum_n w_n ||s_n - y_n||^2 + reg_f ||f||^2 + reg_P ||P||^2

with ``w_n`` the :class:`SampleMemory` weights.

- **Filter only** (P fixed or absent). L is a linear least-squares problem, so a
  Gauss-Newton step is exact and the whole optimisation is conjugate gradient on the
  normal equations: that is :func:`trackerzoo.ops.dcf_cg` (fused kernel where built). The
  "GN iterations" of the ATOM schedule become CG restarts from the current filter, which
  is what ATOM does too and keeps round-off from accumulating in the CG recursions.
- **Joint (P, f)**, ATOM's first-frame optimisation. The residual is bilinear in (P, f).
  Linearised at (P0, f0) the response to a step (dP, df) is ``conv2d(x, h)`` on the *raw*
  features, with the combined filter ``h = f0 . dP + df . P0`` (contracting the projected
  channel), because a 1x1 projection followed by a k x k filter is itself a k x k filter
  on the raw channels. Hence ``J^T W J`` is ``h^T dcf_normal_apply(x, w, h(.))``: the same
  fused normal-equation operator, wrapped in the linear map h and its adjoint, solved with
  a short CG per GN step. Unlike the filter-only case the GN model is only local, so each
  step is scaled by the best of a few fractions (0 included): the objective never rises.
  After the first frame only the filter is updated (as ATOM).

Defaults follow ATOM (reference-facts section 2): filter reg 0.1, projection reg 1e-4,
6 GN x 10 CG iterations at initialisation, 5 CG iterations per update every 10 frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from trackerzoo import ops

from .conjugate_gradient import Pair, conjugate_gradient
from .linear_filter import apply_filter, filter_gradient

# Step fractions tried along each joint Gauss-Newton direction (see _joint_gauss_newton_step).
_STEP_FRACTIONS = (1.0, 0.5, 0.25, 0.1, 0.0)


def project_features(x: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """1x1 projection [D, C] of features [N, C, H, W] -> [N, D, H, W]."""
    return torch.einsum("dc,nchw->ndhw", projection, x)


def combined_filter(filt: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """Filter on raw channels equivalent to projecting with ``projection`` then filtering with ``filt``."""
    return torch.einsum("fduv,dc->fcuv", filt, projection)


def dcf_loss(
    x: torch.Tensor, y: torch.Tensor, sample_weights: torch.Tensor, filt: torch.Tensor, reg: float, padding
) -> torch.Tensor:
    """``sum_n w_n ||conv(x_n, f) - y_n||^2 + reg ||f||^2`` (0-d tensor), the objective of ``dcf_cg``."""
    residual = apply_filter(x, filt, padding) - y
    per_sample = (residual * residual).reshape(residual.shape[0], -1).sum(dim=1)
    return (sample_weights.to(x.dtype) * per_sample).sum() + reg * (filt * filt).sum()


class GaussNewtonDCFLearner:
    """Holds the filter (and projection) of one tracker and runs ATOM's optimisation schedule.

    Typical use inside a tracker::

        learner = GaussNewtonDCFLearner(filter_size=4, projection_dim=64)
        learner.initialize(raw_feats, labels, weights)          # first frame (augmented)
        memory.initialize({"x": learner.project(raw_feats), "y": labels})
        ...
        memory.insert({"x": learner.project(raw_feat), "y": label})
        if learner.should_update(frame_index) or hard_negative:
            learner.update(memory["x"], memory["y"], memory.weights)
        scores = learner.scores(learner.project(raw_feat_search))
    """

    def __init__(
        self,
        filter_size: int | Sequence[int] = 4,
        *,
        num_filters: int = 1,
        filter_reg: float = 0.1,
        projection_dim: int | None = None,
        projection_reg: float = 1e-4,
        init_gn_iters: int = 6,
        init_cg_iters: int = 10,
        update_cg_iters: int = 5,
        update_interval: int = 10,
        padding: int | Sequence[int] | None = None,
        backend: str = "auto",
    ):
        size = (filter_size, filter_size) if isinstance(filter_size, int) else tuple(filter_size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"filter_size must be a positive int or pair, got {filter_size!r}")
        for name, value in (
            ("num_filters", num_filters),
            ("init_gn_iters", init_gn_iters),
            ("update_interval", update_interval),
        ):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if init_cg_iters < 0 or update_cg_iters < 0:
            raise ValueError(f"CG iteration counts must be >= 0, got {init_cg_iters!r}, {update_cg_iters!r}")
        if filter_reg < 0 or projection_reg < 0:
            raise ValueError(f"regularisation must be >= 0, got {filter_reg!r}, {projection_reg!r}")
        if projection_dim is not None and projection_dim < 1:
            raise ValueError(f"projection_dim must be positive or None, got {projection_dim!r}")
        self.filter_size = (int(size[0]), int(size[1]))
        self.num_filters = int(num_filters)
        self.filter_reg = float(filter_reg)
        self.projection_dim = projection_dim
        self.projection_reg = float(projection_reg)
        self.init_gn_iters = int(init_gn_iters)
        self.init_cg_iters = int(init_cg_iters)
        self.update_cg_iters = int(update_cg_iters)
        self.update_interval = int(update_interval)
        self.padding = (
            (self.filter_size[0] // 2, self.filter_size[1] // 2)
            if padding is None
            else ((padding, padding) if isinstance(padding, int) else tuple(padding))
        )
        self.backend = backend
        self.filter: torch.Tensor | None = None
        self.projection: torch.Tensor | None = None
        self.losses: list[torch.Tensor] = []  # objective after each GN iteration of initialize()

    # ------------------------------------------------------------- inference
    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Features as the filter sees them (identity without a projection)."""
        return x if self.projection is None else project_features(x, self.projection)

    def scores(self, projected: torch.Tensor) -> torch.Tensor:
        """Filter responses [N, F, Ho, Wo] of already projected features."""
        if self.filter is None:
            raise ValueError("learner is not initialised: call initialize() first")
        return apply_filter(projected, self.filter, self.padding)

    def should_update(self, frame_index: int) -> bool:
        """ATOM's schedule: a regular update every ``update_interval`` frames."""
        return frame_index > 0 and frame_index % self.update_interval == 0

    # -------------------------------------------------------------- learning
    def initialize(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        sample_weights: torch.Tensor | None = None,
        *,
        initial_filter: torch.Tensor | None = None,
        initial_projection: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """First-frame optimisation (``init_gn_iters`` x ``init_cg_iters``) on raw features x [N, C, H, W].

        Filter starts at zero (ATOM); the projection, if any, at a random Gaussian matrix
        with std 1/sqrt(C) (ATOM's ``randn`` init), or at the given matrices.
        """
        if x.dim() != 4 or y.dim() != 4 or y.shape[0] != x.shape[0] or y.shape[1] != self.num_filters:
            raise ValueError(
                f"expected x [N,C,H,W] and y [N,{self.num_filters},Ho,Wo], got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        weights = self._weights(sample_weights, x)
        channels = x.shape[1]
        if self.projection_dim is not None:
            if initial_projection is None:
                initial_projection = (
                    torch.randn(self.projection_dim, channels, generator=generator, dtype=x.dtype, device="cpu").to(
                        x.device
                    )
                    / channels**0.5
                )
            if initial_projection.shape != (self.projection_dim, channels):
                raise ValueError(
                    f"initial_projection must be [{self.projection_dim}, {channels}], "
                    f"got {tuple(initial_projection.shape)}"
                )
            self.projection = initial_projection.to(dtype=x.dtype, device=x.device).clone()
        else:
            self.projection = None
        filter_channels = channels if self.projection_dim is None else self.projection_dim
        filter_shape = (self.num_filters, filter_channels, *self.filter_size)
        if initial_filter is None:
            initial_filter = x.new_zeros(filter_shape)
        if tuple(initial_filter.shape) != filter_shape:
            raise ValueError(f"initial_filter must be {list(filter_shape)}, got {tuple(initial_filter.shape)}")
        self.filter = initial_filter.to(dtype=x.dtype, device=x.device).clone()

        self.losses = []
        for _ in range(self.init_gn_iters):
            if self.projection is None:
                self.filter = ops.dcf_cg(
                    x,
                    y,
                    weights,
                    self.filter,
                    self.filter_reg,
                    self.padding,
                    self.init_cg_iters,
                    backend=self.backend,
                )
            else:
                self._joint_gauss_newton_step(x, y, weights, self.init_cg_iters)
            self.losses.append(self.objective(x, y, weights))
        return self.filter

    def update(
        self,
        projected: torch.Tensor,
        y: torch.Tensor,
        sample_weights: torch.Tensor,
        num_cg_iters: int | None = None,
    ) -> torch.Tensor:
        """Refine the filter on (projected) memory samples by a few warm-started CG iterations."""
        if self.filter is None:
            raise ValueError("learner is not initialised: call initialize() first")
        iters = self.update_cg_iters if num_cg_iters is None else int(num_cg_iters)
        self.filter = ops.dcf_cg(
            projected,
            y,
            self._weights(sample_weights, projected),
            self.filter,
            self.filter_reg,
            self.padding,
            iters,
            backend=self.backend,
        )
        return self.filter

    def objective(self, x: torch.Tensor, y: torch.Tensor, sample_weights: torch.Tensor) -> torch.Tensor:
        """The full loss on raw features (including the projection term when there is one)."""
        loss = dcf_loss(self.project(x), y, sample_weights, self.filter, self.filter_reg, self.padding)
        if self.projection is not None:
            loss = loss + self.projection_reg * (self.projection * self.projection).sum()
        return loss

    # -------------------------------------------------------------- internals
    @staticmethod
    def _weights(sample_weights: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        if sample_weights is None:
            return x.new_full((x.shape[0],), 1.0 / x.shape[0])
        weights = torch.as_tensor(sample_weights, dtype=x.dtype, device=x.device)
        if weights.shape != (x.shape[0],):
            raise ValueError(f"sample_weights must have shape [{x.shape[0]}], got {tuple(weights.shape)}")
        return weights

    def _joint_gauss_newton_step(self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, cg_iters: int):
        f0, p0 = self.filter, self.projection
        reg_f, reg_p = self.filter_reg, self.projection_reg

        def to_raw(step: Pair) -> torch.Tensor:  # (dP, df) -> combined raw-channel filter h
            return combined_filter(f0, step[0]) + combined_filter(step[1], p0)

        def from_raw(h: torch.Tensor) -> Pair:  # adjoint of to_raw
            return torch.einsum("fcuv,fduv->dc", h, f0), torch.einsum("fcuv,dc->fduv", h, p0)

        def normal_operator(step: Pair) -> Pair:
            jtj = ops.dcf_normal_apply(x, weights, to_raw(step), 0.0, self.padding, backend=self.backend)
            d_p, d_f = from_raw(jtj)
            return d_p + reg_p * step[0], d_f + reg_f * step[1]

        # Gradient of the objective (up to the factor 2 shared with the operator).
        residual = apply_filter(x, combined_filter(f0, p0), self.padding) - y
        weighted = residual * weights.view(-1, 1, 1, 1)
        grad_p, grad_f = from_raw(filter_gradient(x, weighted, self.filter_size, self.padding))
        rhs = (-(grad_p + reg_p * p0), -(grad_f + reg_f * f0))
        d_p, d_f = conjugate_gradient(normal_operator, rhs, cg_iters)

        # The bilinear model makes a full GN step overshoot when (P, f) are far from a fit (the
        # first steps from f = 0). Try a few step fractions, 0 included so the objective can never
        # rise, and keep the best: chosen on the device, without reading the losses back.
        fractions = torch.tensor(_STEP_FRACTIONS, dtype=x.dtype, device=x.device)
        candidate_losses = torch.stack(
            [self._joint_objective(x, y, weights, p0 + t * d_p, f0 + t * d_f) for t in fractions]
        )
        best = fractions[torch.argmin(candidate_losses)]
        self.projection = p0 + best * d_p
        self.filter = f0 + best * d_f

    def _joint_objective(self, x, y, weights, projection, filt) -> torch.Tensor:
        loss = dcf_loss(x, y, weights, combined_filter(filt, projection), 0.0, self.padding)
        return loss + self.filter_reg * (filt * filt).sum() + self.projection_reg * (projection * projection).sum()
