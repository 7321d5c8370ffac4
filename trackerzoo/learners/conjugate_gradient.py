"""Conjugate gradient for a symmetric positive (semi-)definite operator on a tuple of tensors.

The joint (projection, filter) Gauss-Newton step of ATOM (``dcf.GaussNewtonDCFLearner``)
and the matrix-free Gauss-Newton fit of ``gauss_newton`` (one tensor per fitted parameter)
solve their normal equations with this loop; the operator is given as a function, so no
matrix is ever formed. Source: ATOM (Danelljan et al., CVPR 2019), Sec. 3.2, and
pytracking's ``libs/optimization.py`` (``ConjugateGradient``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Pair = tuple[torch.Tensor, torch.Tensor]
Tensors = tuple[torch.Tensor, ...]


def conjugate_gradient(
    apply_operator: Callable[[Tensors], Tensors], rhs: Tensors, num_iters: int, x0: Tensors | None = None
) -> Tensors:
    """CG for a symmetric positive (semi-)definite operator on a tuple of tensors (a pair, or more).

    The unknown is the tuple, shaped like ``rhs`` (and ``x0``, zeros when not given); the
    inner product is the sum over its tensors. All scalars stay 0-d tensors (no host
    reads); a vanishing denominator means convergence and turns the update into a no-op
    instead of producing NaNs. Raises ``ValueError`` for an empty ``rhs``.
    """
    if len(rhs) == 0:
        raise ValueError("conjugate_gradient: rhs must hold at least one tensor, got an empty tuple")

    def dot(a: Tensors, b: Tensors) -> torch.Tensor:
        total = (a[0] * b[0]).sum()
        for left, right in zip(a[1:], b[1:], strict=True):
            total = total + (left * right).sum()
        return total

    def safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        ok = den.abs() > torch.finfo(den.dtype).tiny
        return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))

    x = tuple(torch.zeros_like(b) for b in rhs) if x0 is None else tuple(x0)
    ax = apply_operator(x)
    r = tuple(b - a for b, a in zip(rhs, ax, strict=True))
    p = r
    rho = dot(r, r)
    for _ in range(num_iters):
        q = apply_operator(p)
        alpha = safe_div(rho, dot(p, q))
        x = tuple(xi + alpha * pi for xi, pi in zip(x, p, strict=True))
        r = tuple(ri - alpha * qi for ri, qi in zip(r, q, strict=True))
        rho_new = dot(r, r)
        beta = safe_div(rho_new, rho)
        p = tuple(ri + beta * pi for ri, pi in zip(r, p, strict=True))
        rho = rho_new
    return x
