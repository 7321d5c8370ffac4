"""trackerzoo.geometry.anchor_free against Ocean's numpy read-out, written out independently here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trackerzoo.geometry.anchor_free import choose_on_map, decode_ltrb, hann_window, score_map_points, smooth_size


def test_points_are_oceans_grid():
    points = score_map_points(25, 8, 255)
    # TracKit grids(): x = (j - floor(25 // 2)) * 8 + 255 // 2
    x, y = np.meshgrid(np.arange(25) - 12.0, np.arange(25) - 12.0)
    assert torch.equal(points[..., 0], torch.from_numpy(x * 8 + 127))
    assert torch.equal(points[..., 1], torch.from_numpy(y * 8 + 127))
    assert points[12, 12].tolist() == [127.0, 127.0]


def test_decode_accepts_channel_first_maps():
    points = score_map_points(3, 8, 31)
    ltrb = torch.arange(36, dtype=torch.float64).reshape(4, 3, 3)
    boxes = decode_ltrb(points, ltrb)
    assert boxes.shape == (3, 3, 4)
    assert boxes[1, 2].tolist() == [points[1, 2, 0] - ltrb[0, 1, 2], points[1, 2, 1] - ltrb[1, 1, 2],
                                    points[1, 2, 0] + ltrb[2, 1, 2], points[1, 2, 1] + ltrb[3, 1, 2]]
    with pytest.raises(ValueError, match="does not match"):
        decode_ltrb(points, torch.zeros(4, 2, 3))


def test_hann_window_is_numpys():
    assert np.allclose(hann_window(17).numpy(), np.outer(np.hanning(17), np.hanning(17)))
    with pytest.raises(ValueError, match="0"):
        hann_window(0)


def test_choice_without_priors_is_the_best_score_and_penalty_prefers_the_old_size():
    scores = torch.zeros(5, 5)
    scores[1, 3] = 0.9
    scores[2, 2] = 0.8
    points = score_map_points(5, 8, 39)
    same = torch.full((5, 5, 4), 10.0)
    boxes = decode_ltrb(points, same)
    plain = choose_on_map(scores, boxes, torch.tensor([20.0, 20.0]), penalty_k=0.0, window_influence=0.0)
    assert plain.index == (1, 3) and plain.penalty == pytest.approx(1.0)
    # The best-scoring cell now predicts a box 4x larger: the penalty hands the choice to (2, 2).
    bigger = same.clone()
    bigger[1, 3] = 40.0
    penalised = choose_on_map(scores, decode_ltrb(points, bigger), torch.tensor([20.0, 20.0]), penalty_k=0.5,
                              window_influence=0.0)
    assert penalised.index == (2, 2)
    windowed = choose_on_map(scores, boxes, torch.tensor([20.0, 20.0]), penalty_k=0.0, window_influence=0.9)
    assert windowed.index == (2, 2)  # the centre cell wins under a strong window
    with pytest.raises(ValueError, match="must be"):
        choose_on_map(scores, boxes[:4], torch.tensor([20.0, 20.0]), penalty_k=0.0, window_influence=0.0)


def test_smooth_size():
    assert smooth_size(np.array([10.0, 20.0]), np.array([20.0, 40.0]), 0.25).tolist() == [12.5, 25.0]
    with pytest.raises(ValueError, match=r"1\.5"):
        smooth_size(np.array([1.0, 1.0]), np.array([1.0, 1.0]), 1.5)
