"""Online learners: CRACT's discriminator fits at the tracker's shapes (matrix-free Gauss-Newton).

- update: the fc layers (P = 11841 parameters) refitted on N = 1100 memory samples, one
  Gauss-Newton step of 5 CG iterations (``update_cg_iters``), every 10th frame;
- first fit: all layers on 1200 pooled samples (128 channels, 6x6/3x3/1x1 levels), 6 steps
  of 10 CG iterations, once per sequence.

The explicit-Jacobian fit these replaced is compared side by side by
``benchmarks/compare_discriminator_update.py`` (it needs a checkout of the old code).
"""

from __future__ import annotations

import pytest
import torch

from trackerzoo.learners import gauss_newton_fit

cract_model = pytest.importorskip("trackerzoo_cract.model")


def _problem(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    network = cract_model.Discriminator(channels=128, positions=46, conv_channels=8, hidden=32)
    levels = tuple(torch.randn(1200, 128, s, s, generator=gen) for s in (6, 3, 1))
    labels = (torch.arange(1200) < 200).float()
    weights = torch.where(labels > 0, 0.5 / 200, 0.5 / 1000)
    return network, levels, labels, weights, gen


def test_cract_discriminator_first_fit(benchmark):
    network, levels, labels, weights, _ = _problem()
    start = {k: v.clone() for k, v in network.state_dict().items()}
    reg = network.regularization(levels, 0.01, 1e-4)
    benchmark.group = "learners cract discriminator"
    benchmark.extra_info.update({"learner": "gauss_newton_fit", "shape": "N1200-all-layers-6x10"})

    def fit():
        network.load_state_dict(start)
        gauss_newton_fit(network, levels, labels, weights, reg=reg, gauss_newton_iters=6, cg_iters=10)

    benchmark.pedantic(fit, rounds=3, iterations=1, warmup_rounds=1)


def test_cract_discriminator_update(benchmark):
    network, levels, labels, weights, gen = _problem()
    gauss_newton_fit(network, levels, labels, weights, reg=network.regularization(levels, 0.01, 1e-4),
                     gauss_newton_iters=2, cg_iters=10)
    with torch.no_grad():
        projected = network.project(levels)[:1100] * (1 + 0.1 * torch.randn(1100, 368, generator=gen)).clamp(min=0)
    start = {k: v.clone() for k, v in network.state_dict().items()}
    benchmark.group = "learners cract discriminator"
    benchmark.extra_info.update({"learner": "gauss_newton_fit", "shape": "N1100-P11841-1x5"})

    def update():
        network.load_state_dict(start)
        gauss_newton_fit(network, projected, labels[:1100], torch.full((1100,), 1 / 1100), reg=0.01,
                         gauss_newton_iters=1, cg_iters=5)

    benchmark.pedantic(update, rounds=15, iterations=1, warmup_rounds=2)
