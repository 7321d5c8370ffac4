"""Conjugate gradient for a symmetric positive (semi-)definite operator on a pair of tensors.

The joint (projection, filter) Gauss-Newton step of ATOM (``dcf.GaussNewtonDCFLearner``)
solves its normal equations with this loop; the operator is given as a function, so no
matrix is ever formed. Source: ATOM (Danelljan et al., CVPR 2019), Sec. 3.2, and
pytracking's ``libs/optimization.py`` (``ConjugateGradient``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Pair = tuple[torch.Tensor, torch.Tensor]


def conjugate_gradient(
    apply_operator: Callable[[Pair], Pair], rhs: Pair, num_iters: int, x0: Pair | None = None
) -> Pair:
    """CG for a symmetric positive (semi-)definite operator on a pair of tensors.

    All scalars stay 0-d tensors (no host reads); a vanishing denominator means convergence
    and turns the update into a no-op instead of producing NaNs.
    """

    def dot(a: Pair, b: Pair) -> torch.Tensor:
        return (a[0] * b[0]).sum() + (a[1] * b[1]).sum()

    def safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        ok = den.abs() > torch.finfo(den.dtype).tiny
        return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))

    x = (torch.zeros_like(rhs[0]), torch.zeros_like(rhs[1])) if x0 is None else x0
    ax = apply_operator(x)
    r = (rhs[0] - ax[0], rhs[1] - ax[1])
    p = r
    rho = dot(r, r)
    for _ in range(num_iters):
        q = apply_operator(p)
        alpha = safe_div(rho, dot(p, q))
        x = (x[0] + alpha * p[0], x[1] + alpha * p[1])
        r = (r[0] - alpha * q[0], r[1] - alpha * q[1])
        rho_new = dot(r, r)
        beta = safe_div(rho_new, rho)
        p = (r[0] + beta * p[0], r[1] + beta * p[1])
        rho = rho_new
    return x
