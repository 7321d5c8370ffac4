"""Gauss-Newton fitting of a small network's parameters to a weighted L2 objective.

Minimises, over the parameters ``theta`` a model declares as fitted,

    E(theta) = sum_n w_n (s_n(theta) - y_n)^2 + sum_i lambda_i ||theta_i||^2

where ``s_n`` is the model's scalar score of sample n, ``y_n`` its label and ``w_n`` its
weight (e.g. from a sample memory). This is Eq. 8 of CRACT (Fan & Ling), whose online
discriminator is refitted this way, and the objective ATOM fits its classifier with
(Danelljan et al., CVPR 2019, Sec. 3.2) when the model is not a single linear filter.

Each Gauss-Newton step linearises the scores around the current parameters,
``s(theta') ~ s(theta) + J (theta' - theta)``, which leaves a regularised linear
least-squares problem in ``theta'`` with data matrix ``J`` [N, P] and targets
``y - s(theta) + J theta``. That is the problem ``ops.dcf_cg`` solves for a correlation
filter, so the conjugate-gradient inner loop is the shared DCF kernel, warm-started at
``theta``:

- the parameters are laid out as a ``P x 1`` spatial filter over one channel (samples
  ``[N, 1, P, 1]``, no padding) rather than ``P`` channels of a 1x1 filter; both are the
  same linear map, but the spatial layout makes the adjoint one GEMM-shaped convolution
  instead of ``P`` tiny ones (about 30x faster on a CPU);
- ``ops.dcf_cg`` takes one regularisation weight, so each tensor's own ``lambda_i``
  (ATOM regularises its projection 1000x less than its filter) is absorbed by solving in
  ``phi_i = sqrt(lambda_i) theta_i``: the Jacobian columns are divided by
  ``sqrt(lambda_i)`` and the objective is unchanged.

The model provides its scores and Jacobian in closed form (:class:`Linearizable`): for
the tiny networks this learner is meant for (thousands of parameters, about a thousand
samples) a closed-form Jacobian is far cheaper than per-sample autograd.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from trackerzoo import ops


class Linearizable(Protocol):
    """A model that names the parameters a fit changes and gives the scores' Jacobian."""

    def fitted_parameters(self, inputs) -> list[nn.Parameter]:
        """The tensors ``theta_i`` the fit updates, in a fixed order."""
        ...

    def linearize(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores [N], jacobian [N, P])``, columns in the order of ``fitted_parameters``."""
        ...


def flatten_parameters(parameters: list[torch.Tensor]) -> torch.Tensor:
    """The tensors' values concatenated into one vector ``[P]`` (detached)."""
    return torch.cat([value.detach().reshape(-1) for value in parameters])


def l2_objective(scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, theta: torch.Tensor,
                 reg: torch.Tensor) -> float:
    """``sum_n w_n (s_n - y_n)^2 + sum_p reg_p theta_p^2``; ``reg`` has one entry per parameter like ``theta``."""
    return float((weights * (scores - targets) ** 2).sum() + (reg * theta.pow(2)).sum())


def per_entry_regularization(parameters: list[torch.Tensor], reg: float | list[float]) -> torch.Tensor:
    """One weight ``[P]`` per parameter entry from one weight per tensor (or one for all).

    Raises ``ValueError`` when the count does not match the tensors or a weight is not positive.
    """
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
    """Update ``model``'s fitted parameters in place; return the objective before and after every step.

    ``inputs`` is whatever ``model.linearize`` takes; ``targets`` and ``weights`` are
    ``[N]``; ``reg`` is one weight for all fitted tensors or one per tensor of
    ``fitted_parameters(inputs)``. ``gauss_newton_iters`` outer steps, each solved by
    ``cg_iters`` conjugate-gradient iterations of ``ops.dcf_cg`` on ``backend``.
    Returns ``gauss_newton_iters + 1`` objective values. Raises ``ValueError`` for a bad ``reg``.
    """
    parameters = model.fitted_parameters(inputs)
    entry_reg = per_entry_regularization(parameters, reg)
    root_reg = entry_reg.sqrt()
    scores, jacobian = model.linearize(inputs)
    theta = flatten_parameters(parameters)
    history = [l2_objective(scores, targets, weights, theta, entry_reg)]
    for _ in range(gauss_newton_iters):
        linear_targets = targets - scores + jacobian @ theta
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
        scores, jacobian = model.linearize(inputs)
        history.append(l2_objective(scores, targets, weights, theta, entry_reg))
    return history
