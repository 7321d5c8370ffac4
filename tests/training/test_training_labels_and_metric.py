"""Gaussian centre labels and the OPE validation metric, against hand-computed values."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from training_fixtures import moving_square_dataset

from trackerzoo.labels import gaussian_center_labels
from trackerzoo.training import ope_evaluator


def test_gaussian_labels_peak_at_the_box_centre():
    boxes = torch.tensor([[24.0, 24.0, 16.0, 16.0]])  # centre (32, 32)
    labels = gaussian_center_labels(boxes, (9, 9), stride=4, offset=16.0, sigma=4.0)
    assert labels.shape == (1, 9, 9)
    assert labels[0, 4, 4].item() == pytest.approx(1.0)  # cell 4 sits at 16 + 4 * 4 = 32
    assert labels[0, 4, 5].item() == pytest.approx(math.exp(-0.5))  # one sigma to the right
    assert labels[0, 5, 5].item() == pytest.approx(math.exp(-1.0))  # one sigma right and down
    # sigma_factor scales with sqrt(w h): 0.25 * 16 = 4 px, the same map
    by_factor = gaussian_center_labels(boxes, (9, 9), stride=4, offset=16.0, sigma_factor=0.25)
    assert torch.allclose(by_factor, labels)
    with pytest.raises(ValueError, match="exactly one"):
        gaussian_center_labels(boxes, (9, 9), stride=4)


class _Replay:
    """A 'tracker' that outputs fixed boxes per frame, to score known answers."""

    accepts_mask = False

    def __init__(self, boxes: np.ndarray) -> None:
        self.boxes = boxes
        self.index = 0

    def initialize(self, frame, box=None, mask=None):
        self.index = 0

    def track(self, frame):
        self.index += 1
        return types.SimpleNamespace(box=self.boxes[self.index])


def test_ope_evaluator_scores_known_trackers():
    dataset = moving_square_dataset("val", 2, seed=3, length=10)
    # The evaluator builds one tracker per sequence, in order: replay each one's ground truth.
    sequences = iter(dataset)

    def make_oracle(model, device):
        return _Replay(next(sequences).boxes)

    result = ope_evaluator(make_oracle, dataset)(torch.nn.Identity(), torch.device("cpu"))
    # IoU 1 everywhere succeeds at the thresholds 0 .. 0.95 but not at 1 (IoU > t): 20 of 21.
    assert result["val_auc"] == pytest.approx(20 / 21)
    assert result["val_precision"] == pytest.approx(1.0)

    far = np.tile([1000.0, 1000.0, 5.0, 5.0], (10, 1))
    lost = ope_evaluator(lambda model, device: _Replay(far), dataset, max_frames=5)
    scores = lost(torch.nn.Identity(), torch.device("cpu"))
    # Only frame 0 (the initialisation) of each 5-frame run succeeds.
    assert scores["val_auc"] == pytest.approx(20 / 21 / 5)
    assert scores["val_precision"] == pytest.approx(1 / 5)
