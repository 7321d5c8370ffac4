"""Gauss-Newton + CG for a network with a closed-form Jacobian (``trackerzoo.learners.gauss_newton_fit``)."""

import pytest
import torch
from torch import nn

from trackerzoo.learners import gauss_newton_fit

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
        return scores, torch.cat((inputs, torch.ones(inputs.shape[0], 1, dtype=DT)), dim=1)


class _Tanh(nn.Module):
    """s = tanh(X a): non-linear, fitted by several steps."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.full((features,), 0.01, dtype=DT))

    def fitted_parameters(self, inputs):
        return [self.a]

    @torch.no_grad()
    def linearize(self, inputs):
        scores = torch.tanh(inputs @ self.a)
        return scores, (1 - scores**2)[:, None] * inputs


def _ridge(x, y, w, reg_entries):
    a = torch.cat((x, torch.ones(x.shape[0], 1, dtype=DT)), dim=1)
    return torch.linalg.solve(a.T @ (w[:, None] * a) + torch.diag(reg_entries), a.T @ (w * y))


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_one_step_on_a_linear_model_is_the_ridge_solution_with_per_tensor_weights(backend):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=gen, dtype=DT)
    y = torch.randn(40, generator=gen, dtype=DT)
    w = torch.rand(40, generator=gen, dtype=DT) + 0.1
    model = _Linear(6)
    history = gauss_newton_fit(model, x, y, w, reg=[0.3, 0.01], gauss_newton_iters=1, cg_iters=30, backend=backend)
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
                               gauss_newton_iters=6, cg_iters=10, backend="torch")
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
