"""Matrix-free Gauss-Newton fitting of a small network's parameters to a weighted L2 objective.

Minimises, over the parameters ``theta`` a model declares as fitted,

    E(theta) = sum_n w_n (s_n(theta) - y_n)^2 + sum_i lambda_i ||theta_i||^2

where ``s_n`` is the model's scalar score of sample n, ``y_n`` its label and ``w_n`` its
weight (e.g. from a sample memory). This is Eq. 8 of CRACT (Fan & Ling), whose online
discriminator is refitted this way, and the objective ATOM fits its classifier with
(Danelljan et al., CVPR 2019, Sec. 3.2) when the model is not a single linear filter.

Each Gauss-Newton step linearises the scores around the current parameters,
``s(theta') ~ s(theta) + J (theta' - theta)``, and solves the regularised linear
least-squares problem in ``theta'`` (normal equations ``(J^T W J + Lambda) theta' =
J^T W (y - s + J theta)``) by conjugate gradient, warm-started at ``theta``. The Jacobian
``J`` [N, P] is never formed: CG only needs ``J v`` (a forward-mode derivative, one
score per sample) and ``J^T u`` (a reverse-mode one, shaped like the parameters), which
the model gives as a :class:`Linearization` (closed form, or :func:`autograd_linearization`
through ``torch.func``). For CRACT's discriminator (N ~ 1100 samples, P = 11841) this
avoids writing and reading an N x P matrix twice per update.

Each tensor's own ``lambda_i`` (ATOM regularises its projection 1000x less than its
filter) is absorbed by solving in ``phi_i = sqrt(lambda_i) theta_i``, where the operator is
``D^-1 J^T W J D^-1 + I``: the same scaling and the same CG recurrences as a DCF solve with
unit regularisation (``ops.dcf_cg``), on one tensor per fitted parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from .conjugate_gradient import conjugate_gradient


@dataclass(frozen=True)
class Linearization:
    """The scores of a model at its current parameters and their derivative as two maps.

    ``scores`` is ``[N]``. ``jvp(tangents)`` takes one tensor per fitted parameter (shaped
    like it) and returns ``J v`` ``[N]``; ``vjp(cotangent [N])`` returns ``J^T u`` as one
    tensor per fitted parameter. Both are linear and each other's adjoint.
    """

    scores: torch.Tensor
    jvp: Callable[[Sequence[torch.Tensor]], torch.Tensor]
    vjp: Callable[[torch.Tensor], tuple[torch.Tensor, ...]]


class Linearizable(Protocol):
    """A model that names the parameters a fit changes and linearises its scores in them."""

    def fitted_parameters(self, inputs) -> list[nn.Parameter]:
        """The tensors ``theta_i`` the fit updates, in a fixed order."""
        ...

    def linearize(self, inputs) -> Linearization:
        """Scores and ``J v`` / ``J^T u`` maps, tensors in the order of ``fitted_parameters``."""
        ...


def autograd_linearization(
    model: nn.Module, inputs, parameters: Sequence[nn.Parameter]
) -> Linearization:
    """A :class:`Linearization` of ``model(inputs)`` (scores ``[N]``) by ``torch.func`` autodiff.

    ``jvp`` is forward mode (``torch.func.jvp``) and ``vjp`` reverse mode
    (``torch.func.vjp``), both through ``torch.func.functional_call`` with ``parameters``
    replaced; neither forms a Jacobian. For models without a closed form. Raises
    ``ValueError`` when a tensor of ``parameters`` is not a parameter of ``model``.
    """
    names = {id(value): name for name, value in model.named_parameters()}
    missing = [tuple(p.shape) for p in parameters if id(p) not in names]
    if missing:
        raise ValueError(f"parameters of shapes {missing} are not parameters of the model")
    keys = [names[id(p)] for p in parameters]
    primals = tuple(p.detach() for p in parameters)

    def scores_of(*values: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, dict(zip(keys, values, strict=True)), (inputs,))

    with torch.enable_grad():
        scores, pullback = torch.func.vjp(scores_of, *primals)

    def jvp(tangents: Sequence[torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            return torch.func.jvp(scores_of, primals, tuple(tangents))[1].detach()

    def vjp(cotangent: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with torch.enable_grad():
            return tuple(g.detach() for g in pullback(cotangent))

    return Linearization(scores.detach(), jvp, vjp)


def l2_objective(scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
                 theta: Sequence[torch.Tensor], reg: Sequence[float]) -> float:
    """``sum_n w_n (s_n - y_n)^2 + sum_i reg_i ||theta_i||^2`` (one weight per tensor of ``theta``)."""
    penalty = sum(float(value) * float(t.pow(2).sum()) for t, value in zip(theta, reg, strict=True))
    return float((weights * (scores - targets) ** 2).sum()) + penalty


def per_tensor_regularization(parameters: Sequence[torch.Tensor], reg: float | Sequence[float]) -> list[float]:
    """One weight per tensor from one weight for all or one per tensor.

    Raises ``ValueError`` when the count does not match the tensors or a weight is not positive.
    """
    values = [reg] * len(parameters) if isinstance(reg, (int, float)) else list(reg)
    if len(values) != len(parameters) or min(values) <= 0:
        raise ValueError(f"reg must be one positive number or one per fitted parameter, got {reg!r}")
    return [float(v) for v in values]


def _scaled_normal_operator(
    lin: Linearization, weights: torch.Tensor, root_reg: Sequence[float]
) -> Callable[[tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]:
    """``phi -> (D^-1 J^T W J D^-1 + I) phi`` with ``D = diag(root_reg)`` per tensor, never forming ``J``."""

    def apply(phi: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        response = lin.jvp([p / r for p, r in zip(phi, root_reg, strict=True)]) * weights
        return tuple(g / r + p for g, p, r in zip(lin.vjp(response), phi, root_reg, strict=True))

    return apply


@torch.no_grad()
def gauss_newton_fit(
    model: Linearizable,
    inputs,
    targets: torch.Tensor,
    weights: torch.Tensor,
    *,
    reg: float | Sequence[float],
    gauss_newton_iters: int,
    cg_iters: int,
) -> list[float]:
    """Update ``model``'s fitted parameters in place; return the objective before and after every step.

    ``inputs`` is whatever ``model.linearize`` takes; ``targets`` and ``weights`` are
    ``[N]``; ``reg`` is one weight for all fitted tensors or one per tensor of
    ``fitted_parameters(inputs)``. ``gauss_newton_iters`` outer steps, each solved by
    ``cg_iters`` matrix-free conjugate-gradient iterations (two Jacobian products each).
    Returns ``gauss_newton_iters + 1`` objective values. Raises ``ValueError`` for a bad
    ``reg`` or a negative iteration count.
    """
    if gauss_newton_iters < 0 or cg_iters < 0:
        raise ValueError(f"iteration counts must be >= 0, got gauss_newton_iters={gauss_newton_iters}, "
                         f"cg_iters={cg_iters}")
    parameters = model.fitted_parameters(inputs)
    tensor_reg = per_tensor_regularization(parameters, reg)
    root_reg = [value ** 0.5 for value in tensor_reg]
    lin = model.linearize(inputs)
    theta = tuple(p.detach().clone() for p in parameters)
    history = [l2_objective(lin.scores, targets, weights, theta, tensor_reg)]
    for _ in range(gauss_newton_iters):
        linear_targets = targets - lin.scores + lin.jvp(theta)
        rhs = tuple(g / r for g, r in zip(lin.vjp(linear_targets * weights), root_reg, strict=True))
        start = tuple(t * r for t, r in zip(theta, root_reg, strict=True))
        phi = conjugate_gradient(_scaled_normal_operator(lin, weights, root_reg), rhs, cg_iters, start)
        theta = tuple(p / r for p, r in zip(phi, root_reg, strict=True))
        for parameter, value in zip(parameters, theta, strict=True):
            parameter.copy_(value)
        lin = model.linearize(inputs)
        history.append(l2_objective(lin.scores, targets, weights, theta, tensor_reg))
    return history
