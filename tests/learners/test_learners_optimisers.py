"""Learners against dense least-squares solutions built independently with ``unfold``."""

import pytest
import torch
import torch.nn.functional as F

from trackerzoo.learners import (
    DiMPSteepestDescent,
    GaussNewtonDCFLearner,
    LWLFewShotLearner,
    SampleMemory,
    apply_filter,
    conjugate_gradient,
    filter_gradient,
    steepest_descent,
)

DT = torch.float64


def _design(x: torch.Tensor, k: int, pad: int) -> torch.Tensor:
    """Rows = output pixels (frame-major), columns = filter taps (C*k*k)."""
    cols = F.unfold(x, kernel_size=k, padding=pad)  # [N, C*k*k, L]
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


def _dense_filter(x, y, pixel_weights, reg, k, pad):
    """argmin sum w (A f - y)^2 + reg |f|^2 for every output channel of y (w: per pixel)."""
    a = _design(x, k, pad)
    num_filters = y.shape[1]
    solutions = []
    for f in range(num_filters):
        target = y[:, f].reshape(-1)
        w = pixel_weights[:, f].reshape(-1) if pixel_weights.dim() == 4 else pixel_weights
        lhs = a.T @ (w[:, None] * a) + reg * torch.eye(a.shape[1], dtype=DT)
        solutions.append(torch.linalg.solve(lhs, a.T @ (w * target)))
    return torch.stack(solutions).reshape(num_filters, x.shape[1], k, k)


def _problem(seed=0, n=3, c=2, h=7, w=7, f=2, k=3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=gen, dtype=DT)
    pad = k // 2
    ho, wo = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    y = torch.randn(n, f, ho, wo, generator=gen, dtype=DT)
    return x, y, gen


# ---------------------------------------------------------------- linear filter
def test_apply_filter_matches_per_sequence_conv():
    gen = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 3, 4, 6, 5, generator=gen, dtype=DT)
    filt = torch.randn(2, 3, 4, 4, 4, generator=gen, dtype=DT)
    out = apply_filter(feat, filt)
    for s in range(2):
        torch.testing.assert_close(out[s], F.conv2d(feat[s], filt[s], padding=2))


def test_filter_gradient_is_the_adjoint_of_apply_filter():
    gen = torch.Generator().manual_seed(1)
    feat = torch.randn(2, 3, 4, 6, 5, generator=gen, dtype=DT)
    filt = torch.randn(2, 3, 4, 3, 2, generator=gen, dtype=DT, requires_grad=True)
    scores = apply_filter(feat, filt, padding=(1, 0))
    residual = torch.randn(scores.shape, generator=gen, dtype=DT)
    (autograd_grad,) = torch.autograd.grad((scores * residual).sum(), filt)
    torch.testing.assert_close(filter_gradient(feat, residual, (3, 2), padding=(1, 0)), autograd_grad)


# ----------------------------------------------------------- steepest descent
def test_lwl_learner_decreases_monotonically_to_least_squares_solution():
    x, y, gen = _problem()
    weights = torch.rand(y.shape, generator=gen, dtype=DT) + 0.5  # per pixel and channel (W(y))
    reg = 0.05
    filt, losses = steepest_descent(
        torch.zeros(2, 2, 3, 3, dtype=DT),
        x,
        y,
        reg_weight=reg,
        num_iters=60,
        residual_weights=weights,
        return_losses=True,
    )
    assert torch.all(losses[1:] <= losses[:-1] + 1e-12)
    expected = _dense_filter(x, y, weights**2, reg, k=3, pad=1)
    torch.testing.assert_close(filt, expected, atol=1e-7, rtol=1e-6)


def test_lwl_module_zero_init_and_batched_sequences_equal_separate_runs():
    learner = LWLFewShotLearner(filter_size=3, num_iters=4).double()
    x1, y1, _ = _problem(seed=1)
    x2, y2, _ = _problem(seed=2)
    batched = learner(torch.stack([x1, x2]), torch.stack([y1, y2]))
    torch.testing.assert_close(batched[0], learner(x1, y1))
    torch.testing.assert_close(batched[1], learner(x2, y2))
    # Memory weights w_n on the squared residual equal residual weights sqrt(w_n).
    frame_weights = torch.tensor([0.5, 0.3, 0.2], dtype=DT)
    torch.testing.assert_close(
        learner(x1, y1, sample_weights=frame_weights),
        learner(x1, y1, residual_weights=frame_weights.sqrt().view(3, 1, 1, 1)),
    )


def test_dimp_hinge_learner_reduces_loss_and_ignores_negative_background():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 4, 9, 9, generator=gen, dtype=DT)
    # Realisable under the hinge: labels are what a true filter produces, with the background
    # clamped at zero (negative background scores are free).
    true_scores = apply_filter(x, torch.randn(1, 1, 4, 4, 4, generator=gen, dtype=DT))
    mask = (torch.rand(true_scores.shape, generator=gen, dtype=DT) > 0.7).to(DT)
    label = mask * true_scores + (1 - mask) * true_scores.clamp(min=0)
    learner = DiMPSteepestDescent(num_iters=30, init_filter_reg=1e-3).double()
    filt, losses = learner(torch.zeros(1, 1, 4, 4, 4, dtype=DT), x, label, mask, return_losses=True)
    losses = losses[:, 0]
    assert torch.all(losses[1:] <= losses[:-1] + 1e-12)
    assert losses[-1] < 0.05 * losses[0]
    # In the background the hinge only penalises positive scores: a purely negative response there
    # must cost nothing, so the loss equals the one computed with background scores clamped at 0.
    scores = apply_filter(x, filt)
    clamped = mask * scores + (1 - mask) * scores.clamp(min=0)
    data_term = 0.5 * (((clamped - label) ** 2) * 0.25).sum()  # sample weight 1/4 per frame
    reg_term = 0.5 * learner.reg_weight() * (filt**2).sum()
    torch.testing.assert_close(losses[-1], data_term + reg_term)


def test_dimp_with_full_mask_equals_plain_least_squares_learner():
    x, y, _ = _problem(seed=4, f=1)
    ones = torch.ones_like(y)
    with_mask = steepest_descent(torch.zeros(1, 2, 3, 3, dtype=DT), x, y, reg_weight=0.1, num_iters=5, target_mask=ones)
    plain = steepest_descent(torch.zeros(1, 2, 3, 3, dtype=DT), x, y, reg_weight=0.1, num_iters=5)
    torch.testing.assert_close(with_mask, plain)


def test_gradients_flow_through_unrolled_lwl_learner():
    gen = torch.Generator().manual_seed(5)
    feat = torch.randn(1, 2, 2, 3, 3, generator=gen, dtype=DT, requires_grad=True)
    target = torch.randn(1, 2, 1, 3, 3, generator=gen, dtype=DT, requires_grad=True)
    weights = (torch.rand(1, 2, 1, 3, 3, generator=gen, dtype=DT) + 0.5).requires_grad_()
    reg = torch.tensor(0.1, dtype=DT, requires_grad=True)
    step = torch.tensor(0.9, dtype=DT, requires_grad=True)

    def run(feat, target, weights, reg, step):
        filt0 = torch.zeros(1, 1, 2, 3, 3, dtype=DT)
        return steepest_descent(
            filt0, feat, target, reg_weight=reg, num_iters=3, residual_weights=weights, step_length=step
        )

    assert torch.autograd.gradcheck(run, (feat, target, weights, reg, step))


def test_gradients_flow_through_unrolled_dimp_learner():
    gen = torch.Generator().manual_seed(6)
    feat = torch.randn(1, 2, 2, 4, 4, generator=gen, dtype=DT, requires_grad=True)
    label = torch.rand(1, 2, 1, 5, 5, generator=gen, dtype=DT)
    mask = (torch.rand(1, 2, 1, 5, 5, generator=gen, dtype=DT) > 0.5).to(DT)
    filt0 = (0.1 * torch.randn(1, 1, 2, 4, 4, generator=gen, dtype=DT)).requires_grad_()
    reg = torch.tensor(0.05, dtype=DT, requires_grad=True)

    def run(feat, filt0, reg):
        return steepest_descent(filt0, feat, label, reg_weight=reg, num_iters=2, target_mask=mask)

    assert torch.autograd.gradcheck(run, (feat, filt0, reg))


def test_learner_modules_train_their_parameters():
    learner = DiMPSteepestDescent(num_iters=2).double()
    x, _, gen = _problem(seed=7, f=1, k=4)
    label = torch.rand(3, 1, 8, 8, generator=gen, dtype=DT)
    filt = learner(torch.zeros(1, 2, 4, 4, dtype=DT), x, label, (label > 0.5).to(DT))
    apply_filter(x, filt).sum().backward()
    assert learner.filter_reg.grad is not None and learner.log_step_length.grad is not None
    with pytest.raises(ValueError, match="num_iters"):
        steepest_descent(filt, x, label, reg_weight=0.1, num_iters=-1)


# ------------------------------------------------------------ Gauss-Newton / CG
def test_conjugate_gradient_solves_spd_system():
    gen = torch.Generator().manual_seed(8)
    m = torch.randn(7, 7, generator=gen, dtype=DT)
    a = m @ m.T + 0.5 * torch.eye(7, dtype=DT)
    b = torch.randn(7, generator=gen, dtype=DT)

    def op(v):
        full = a @ torch.cat([v[0], v[1]])
        return full[:3], full[3:]

    x = conjugate_gradient(op, (b[:3], b[3:]), num_iters=7)
    torch.testing.assert_close(torch.cat(x), torch.linalg.solve(a, b))


def test_filter_only_learner_matches_dense_solve():
    x, y, gen = _problem(seed=9, n=4, c=3, f=1, k=4, h=6, w=6)
    weights = torch.rand(4, generator=gen, dtype=DT)
    weights = weights / weights.sum()
    learner = GaussNewtonDCFLearner(filter_size=4, filter_reg=0.1, backend="torch")
    filt = learner.initialize(x, y, weights)
    pixel_weights = weights.repeat_interleave(y.shape[-1] * y.shape[-2])
    expected = _dense_filter(x, y, pixel_weights, 0.1, k=4, pad=2)
    torch.testing.assert_close(filt, expected, atol=1e-8, rtol=1e-6)
    assert all(b <= a + 1e-12 for a, b in zip(learner.losses, learner.losses[1:], strict=False))


def test_update_from_memory_tracks_new_data():
    x, y, gen = _problem(seed=10, n=2, c=2, f=1, k=3)
    learner = GaussNewtonDCFLearner(filter_size=3, init_gn_iters=2, update_cg_iters=40, backend="torch")
    learner.initialize(x, y)
    memory = SampleMemory(capacity=6, learning_rate=0.3)
    memory.initialize({"x": learner.project(x), "y": y})
    for _ in range(5):
        xi = torch.randn(2, 7, 7, generator=gen, dtype=DT)
        memory.insert({"x": xi, "y": torch.randn(1, 7, 7, generator=gen, dtype=DT)})
    learner.update(memory["x"], memory["y"], memory.weights)
    pixel_weights = memory.weights.repeat_interleave(49)
    expected = _dense_filter(memory["x"], memory["y"], pixel_weights, learner.filter_reg, k=3, pad=1)
    torch.testing.assert_close(learner.filter, expected, atol=1e-8, rtol=1e-6)
    assert learner.should_update(10) and not learner.should_update(11) and not learner.should_update(0)


def test_joint_projection_learner_fits_a_realisable_problem():
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(4, 6, 8, 8, generator=gen, dtype=DT)
    true_projection = torch.randn(3, 6, generator=gen, dtype=DT)
    true_filter = torch.randn(1, 3, 3, 3, generator=gen, dtype=DT)
    y = F.conv2d(torch.einsum("dc,nchw->ndhw", true_projection, x), true_filter, padding=1)
    learner = GaussNewtonDCFLearner(
        filter_size=3,
        projection_dim=3,
        filter_reg=1e-4,
        projection_reg=1e-4,
        init_gn_iters=8,
        init_cg_iters=30,
        backend="torch",
    )
    learner.initialize(x, y, generator=torch.Generator().manual_seed(0))
    weights = torch.full((4,), 0.25, dtype=DT)
    initial_loss = (weights[:, None] * (y**2).reshape(4, -1)).sum()
    losses = torch.stack(learner.losses)
    assert torch.all(losses[1:] <= losses[:-1] * (1 + 1e-9))
    assert losses[-1] < 1e-3 * initial_loss
    # The learnt pair reproduces the labels through project() + scores().
    fitted = learner.scores(learner.project(x))
    assert float(((fitted - y) ** 2).mean()) < 1e-3 * float((y**2).mean())


def test_gauss_newton_learner_rejects_bad_input():
    with pytest.raises(ValueError, match="filter_size"):
        GaussNewtonDCFLearner(filter_size=0)
    learner = GaussNewtonDCFLearner(filter_size=3)
    with pytest.raises(ValueError, match="not initialised"):
        learner.scores(torch.zeros(1, 2, 5, 5))
    with pytest.raises(ValueError, match="expected x"):
        learner.initialize(torch.zeros(1, 2, 5, 5), torch.zeros(1, 2, 5, 5))
