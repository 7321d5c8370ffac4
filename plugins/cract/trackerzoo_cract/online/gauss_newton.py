"""Gauss-Newton fitting of a small network to the L2 objective of Eq. 8.

    sum_n w_n (D(X_n; theta) - Y_n)^2 + lambda ||theta||^2

Each Gauss-Newton step linearises D around the current parameters,
``D(theta') ~ D(theta) + J (theta' - theta)``, which turns Eq. 8 into a regularised linear
least-squares problem in ``theta'`` with data matrix ``J`` and targets
``Y - D(theta) + J theta``. That is exactly the problem ``ops.dcf_cg`` solves for a
correlation filter (a 1x1 "filter" over ``P`` channels, the parameters), so the
conjugate-gradient inner loop is the shared DCF kernel, warm-started at ``theta``.

Each parameter tensor may have its own regularisation weight (ATOM regularises its
projection layer 1000x less than its filter). ``ops.dcf_cg`` takes one weight, so the
problem is solved in rescaled parameters ``phi_i = sqrt(lambda_i) theta_i`` with unit
weight: the Jacobian columns are divided by ``sqrt(lambda_i)`` and the objective is
unchanged.

The parameters are laid out as a ``P x 1`` spatial filter over one channel (samples
``[N, 1, P, 1]``) rather than as ``P`` channels of a 1x1 filter: both are the same
linear map, but the spatial layout makes the adjoint one GEMM-shaped convolution
instead of a batch of ``P`` tiny ones (30x faster on a CPU).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from trackerzoo import ops


class Linearizable(Protocol):
    """A model that can say which parameters a fit changes and give their Jacobian."""

    def fitted_parameters(self, inputs) -> list[nn.Parameter]: ...

    def linearize(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores [N], jacobian [N, P])`` for the parameters of ``fitted_parameters``, in order."""
        ...


def flatten(parameters: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([value.detach().reshape(-1) for value in parameters])


def l2_objective(predictions: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, theta: torch.Tensor,
                 reg: torch.Tensor) -> float:
    """Eq. 8 with per-sample weights and per-entry regularisation ``reg`` (like ``theta``)."""
    return float((weights * (predictions - targets) ** 2).sum() + (reg * theta.pow(2)).sum())


def _per_entry(parameters: list[torch.Tensor], reg: float | list[float]) -> torch.Tensor:
    values = [reg] * len(parameters) if isinstance(reg, (int, float)) else list(reg)
    if len(values) != len(parameters) or min(values) <= 0:
        raise ValueError(f"reg must be one positive number or one per fitted parameter, got {reg!r}")
    return torch.cat([torch.full((p.numel(),), float(v), dtype=p.dtype, device=p.device)
                      for p, v in zip(parameters, values, strict=True)])


@torch.no_grad()
def gauss_newton_fit(
    model: Linearizable,
    inputs,
    targets: torch.Tensor,
    weights: torch.Tensor,
    *,
    reg: float | list[float],
    gauss_newton_iters: int,
    cg_iters: int,
    backend: str = "auto",
) -> list[float]:
    """Update ``model``'s fitted parameters in place; return Eq. 8 before and after every step.

    ``reg`` is one weight for all fitted parameters or one per tensor of ``fitted_parameters``.
    """
    parameters = model.fitted_parameters(inputs)
    entry_reg = _per_entry(parameters, reg)
    root_reg = entry_reg.sqrt()
    predictions, jacobian = model.linearize(inputs)
    theta = flatten(parameters)
    history = [l2_objective(predictions, targets, weights, theta, entry_reg)]
    for _ in range(gauss_newton_iters):
        linear_targets = targets - predictions + jacobian @ theta
        scaled = ops.dcf_cg(
            (jacobian / root_reg)[:, None, :, None],
            linear_targets[:, None, None, None],
            weights,
            (theta * root_reg)[None, None, :, None],
            1.0,
            0,
            cg_iters,
            backend=backend,
        ).reshape(-1)
        theta = scaled / root_reg
        start = 0
        for parameter in parameters:
            parameter.copy_(theta[start:start + parameter.numel()].view_as(parameter))
            start += parameter.numel()
        predictions, jacobian = model.linearize(inputs)
        history.append(l2_objective(predictions, targets, weights, theta, entry_reg))
    return history
