"""SiamRPN++'s priors on motion: the size penalty, the cosine window and the re-ranking."""

from __future__ import annotations

import numpy as np
import torch

from trackerzoo.geometry.motion_priors import cosine_window_at, rank_with_priors, size_change_penalty


def test_window_matches_the_hanning_window_at_the_score_map_cells():
    size, stride, crop = 25, 8, 255
    extent = float((size - 1) * stride)
    cells = crop / 2.0 + (np.arange(size) - (size - 1) / 2.0) * stride
    xs, ys = np.meshgrid(cells, cells)
    centres = torch.tensor(np.stack([xs.ravel(), ys.ravel()], axis=1), dtype=torch.float64)
    expected = np.outer(np.hanning(size), np.hanning(size)).ravel()
    assert np.allclose(cosine_window_at(centres, crop, extent).numpy(), expected)


def test_penalty_is_one_for_an_unchanged_box_and_smaller_for_changes():
    previous = torch.tensor([30.0, 90.0])
    sizes = torch.tensor([[30.0, 90.0], [60.0, 180.0], [90.0, 30.0]])
    penalty = size_change_penalty(sizes, previous, 0.05)
    assert torch.isclose(penalty[0], torch.tensor(1.0))
    assert bool((penalty[1:] < 1.0).all())


def test_ranking_without_window_is_score_times_penalty_and_with_it_the_siamrpn_mix():
    generator = torch.Generator().manual_seed(0)
    scores, penalty = torch.rand(50, generator=generator), torch.rand(50, generator=generator)
    centres = torch.rand(50, 2, generator=generator) * 255
    assert torch.equal(rank_with_priors(scores, penalty, centres, 255, 192.0, 0.0), scores * penalty)
    window = cosine_window_at(centres, 255, 192.0)
    mixed = rank_with_priors(scores, penalty, centres, 255, 192.0, 0.42)
    assert torch.allclose(mixed, 0.58 * scores * penalty + 0.42 * window)
    # The window pulls the ranking towards the crop centre.
    centre, corner = torch.tensor([[127.5, 127.5]]), torch.tensor([[20.0, 20.0]])
    one = torch.ones(1)
    assert rank_with_priors(one, one, centre, 255, 192.0, 0.42) > rank_with_priors(one, one, corner, 255, 192.0, 0.42)
