"""Matrix-free Gauss-Newton + CG (``trackerzoo.learners.gauss_newton_fit``).

The explicit-Jacobian fit it replaced (the Jacobian formed, the linear least-squares step
solved by ``ops.dcf_cg`` with the parameters as a P x 1 filter) is kept here only as the
reference the matrix-free fit must reproduce.
"""

import pytest
import torch
from torch import nn

from trackerzoo import ops
from trackerzoo.learners import Linearization, autograd_linearization, conjugate_gradient, gauss_newton_fit

DT = torch.float64


class _Linear(nn.Module):
    """s = X a + b: linear in (a, b), so one Gauss-Newton step is the exact ridge solution."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.zeros(features, dtype=DT))
        self.b = nn.Parameter(torch.zeros(1, dtype=DT))

    def fitted_parameters(self, inputs):
        return [self.a, self.b]

    @torch.no_grad()
    def linearize(self, inputs):
        scores = inputs @ self.a + self.b
        return Linearization(scores, lambda t: inputs @ t[0] + t[1], lambda u: (inputs.T @ u, u.sum().reshape(1)))


class _Tanh(nn.Module):
    """s = tanh(X a): non-linear, fitted by several steps."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.full((features,), 0.01, dtype=DT))

    def forward(self, inputs):
        return torch.tanh(inputs @ self.a)

    def fitted_parameters(self, inputs):
        return [self.a]

    @torch.no_grad()
    def linearize(self, inputs):
        scores = torch.tanh(inputs @ self.a)
        slope = 1 - scores**2
        return Linearization(scores, lambda t: slope * (inputs @ t[0]), lambda u: (inputs.T @ (slope * u),))


class _Mlp(nn.Module):
    """Two layers with a tanh, all four tensors fitted; linearised by ``torch.func``."""

    def __init__(self, features: int, hidden: int, generator: torch.Generator) -> None:
        super().__init__()
        self.fc1 = nn.Linear(features, hidden).to(DT)
        self.fc2 = nn.Linear(hidden, 1).to(DT)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=generator, dtype=DT))

    def forward(self, inputs):
        return self.fc2(torch.tanh(self.fc1(inputs))).squeeze(-1)

    def fitted_parameters(self, inputs):
        return [self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias]

    def linearize(self, inputs):
        return autograd_linearization(self, inputs, self.fitted_parameters(inputs))


def _explicit_jacobian(model, inputs):
    """``[N, P]`` by reverse-mode autodiff, columns in the order of ``fitted_parameters``."""
    parameters = model.fitted_parameters(inputs)
    names = {id(p): name for name, p in model.named_parameters()}
    keys = [names[id(p)] for p in parameters]

    def scores_of(*values):
        return torch.func.functional_call(model, dict(zip(keys, values, strict=True)), (inputs,))

    blocks = torch.func.jacrev(scores_of, argnums=tuple(range(len(keys))))(*[p.detach() for p in parameters])
    return torch.cat([b.reshape(inputs.shape[0], -1) for b in blocks], dim=1)


def _explicit_gauss_newton(model, inputs, targets, weights, reg, gauss_newton_iters, cg_iters):
    """The replaced algorithm: explicit Jacobian, each step one ``ops.dcf_cg`` solve (torch reference)."""
    parameters = model.fitted_parameters(inputs)
    entry_reg = torch.cat([torch.full((p.numel(),), r, dtype=DT) for p, r in zip(parameters, reg, strict=True)])
    root_reg = entry_reg.sqrt()
    theta = torch.cat([p.detach().reshape(-1) for p in parameters])

    def objective():
        with torch.no_grad():
            return float((weights * (model(inputs) - targets) ** 2).sum() + (entry_reg * theta**2).sum())

    history = [objective()]
    for _ in range(gauss_newton_iters):
        with torch.no_grad():
            scores = model(inputs)
        jacobian = _explicit_jacobian(model, inputs)
        linear_targets = targets - scores + jacobian @ theta
        scaled = ops.dcf_cg((jacobian / root_reg)[:, None, :, None], linear_targets[:, None, None, None], weights,
                            (theta * root_reg)[None, None, :, None], 1.0, 0, cg_iters, backend="torch").reshape(-1)
        theta = scaled / root_reg
        start = 0
        with torch.no_grad():
            for p in parameters:
                p.copy_(theta[start:start + p.numel()].view_as(p))
                start += p.numel()
        history.append(objective())
    return history


def _ridge(x, y, w, reg_entries):
    a = torch.cat((x, torch.ones(x.shape[0], 1, dtype=DT)), dim=1)
    return torch.linalg.solve(a.T @ (w[:, None] * a) + torch.diag(reg_entries), a.T @ (w * y))


def test_one_step_on_a_linear_model_is_the_ridge_solution_with_per_tensor_weights():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=gen, dtype=DT)
    y = torch.randn(40, generator=gen, dtype=DT)
    w = torch.rand(40, generator=gen, dtype=DT) + 0.1
    model = _Linear(6)
    history = gauss_newton_fit(model, x, y, w, reg=[0.3, 0.01], gauss_newton_iters=1, cg_iters=30)
    expected = _ridge(x, y, w, torch.tensor([0.3] * 6 + [0.01], dtype=DT))
    torch.testing.assert_close(torch.cat((model.a.detach(), model.b.detach())), expected, rtol=1e-7, atol=1e-9)
    assert len(history) == 2
    theta = expected
    objective = float((w * (x @ theta[:6] + theta[6] - y) ** 2).sum() + 0.3 * (theta[:6] ** 2).sum()
                      + 0.01 * theta[6] ** 2)
    assert history[1] == pytest.approx(objective, rel=1e-9)
    assert history[0] == pytest.approx(float((w * y**2).sum()))


def test_non_linear_fit_lowers_the_objective_and_fits_the_data():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(200, 5, generator=gen, dtype=DT)
    truth = torch.tensor([0.8, -0.5, 0.3, 0.0, 0.6], dtype=DT)
    y = torch.tanh(x @ truth)
    model = _Tanh(5)
    history = gauss_newton_fit(model, x, y, torch.full((200,), 1 / 200, dtype=DT), reg=1e-6,
                               gauss_newton_iters=6, cg_iters=10)
    assert len(history) == 7
    assert history[-1] < 1e-3 * history[0]
    torch.testing.assert_close(model.a.detach(), truth, atol=1e-3, rtol=0)


@pytest.mark.parametrize("reg", [0.0, -1.0, [0.1], [0.1, 0.1, 0.1]])
def test_bad_regularisation_is_a_value_error_naming_it(reg):
    model = _Linear(3)
    x = torch.zeros(4, 3, dtype=DT)
    with pytest.raises(ValueError, match="reg must be one positive number or one per fitted parameter"):
        gauss_newton_fit(model, x, torch.zeros(4, dtype=DT), torch.ones(4, dtype=DT), reg=reg,
                         gauss_newton_iters=1, cg_iters=2)


def test_matrix_free_fit_reproduces_the_explicit_jacobian_fit():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(150, 7, generator=gen, dtype=DT)
    y = torch.sin(x[:, 0]) + 0.3 * x[:, 1]
    w = torch.rand(150, generator=gen, dtype=DT) / 150
    reg = [0.05, 0.01, 0.02, 1e-3]
    model = _Mlp(7, 9, torch.Generator().manual_seed(4))
    reference = _Mlp(7, 9, torch.Generator().manual_seed(4))
    # Few CG iterations: on this problem rounding differences grow ~100x per CG iteration once
    # the residual is small (4e-14 after 4 iterations, 4e-7 after 8), in either implementation.
    history = gauss_newton_fit(model, x, y, w, reg=reg, gauss_newton_iters=3, cg_iters=4)
    expected = _explicit_gauss_newton(reference, x, y, w, reg, 3, 4)
    assert history == pytest.approx(expected, rel=1e-11, abs=0)
    assert history[-1] < history[0]
    for got, want in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_autograd_linearization_matches_the_closed_form_and_is_its_own_adjoint():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(30, 4, generator=gen, dtype=DT)
    model = _Tanh(4)
    with torch.no_grad():
        model.a.copy_(torch.randn(4, generator=gen, dtype=DT))
    closed = model.linearize(x)
    auto = autograd_linearization(model, x, [model.a])
    tangent = [torch.randn(4, generator=gen, dtype=DT)]
    cotangent = torch.randn(30, generator=gen, dtype=DT)
    torch.testing.assert_close(auto.scores, closed.scores)
    torch.testing.assert_close(auto.jvp(tangent), closed.jvp(tangent))
    torch.testing.assert_close(auto.vjp(cotangent)[0], closed.vjp(cotangent)[0])
    # <J v, u> == <v, J^T u>
    assert float(auto.jvp(tangent) @ cotangent) == pytest.approx(float(tangent[0] @ auto.vjp(cotangent)[0]), rel=1e-12)


def test_autograd_linearization_refuses_a_foreign_parameter():
    model = _Tanh(3)
    with pytest.raises(ValueError, match=r"parameters of shapes \[\(2,\)\] are not parameters of the model"):
        autograd_linearization(model, torch.zeros(4, 3, dtype=DT), [nn.Parameter(torch.zeros(2, dtype=DT))])


@pytest.mark.parametrize(("gn", "cg"), [(-1, 2), (1, -1)])
def test_negative_iteration_counts_are_a_value_error(gn, cg):
    model = _Linear(3)
    with pytest.raises(ValueError, match="iteration counts must be >= 0"):
        gauss_newton_fit(model, torch.zeros(4, 3, dtype=DT), torch.zeros(4, dtype=DT), torch.ones(4, dtype=DT),
                         reg=0.1, gauss_newton_iters=gn, cg_iters=cg)


def test_conjugate_gradient_on_three_tensors_solves_a_block_diagonal_system():
    gen = torch.Generator().manual_seed(6)
    blocks = []
    for size in (2, 3, 4):
        m = torch.randn(size, size, generator=gen, dtype=DT)
        blocks.append(m @ m.T + size * torch.eye(size, dtype=DT))
    rhs = tuple(torch.randn(b.shape[0], generator=gen, dtype=DT) for b in blocks)
    solution = conjugate_gradient(lambda v: tuple(b @ t for b, t in zip(blocks, v, strict=True)), rhs, 9)
    assert len(solution) == 3
    for b, r, s in zip(blocks, rhs, solution, strict=True):
        torch.testing.assert_close(s, torch.linalg.solve(b, r), rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="empty tuple"):
        conjugate_gradient(lambda v: v, (), 3)
