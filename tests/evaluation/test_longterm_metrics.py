"""VOT-LT precision/recall/F and the re-entry measure: hand-computed cases and vot-toolkit's long-term analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trackerzoo.evaluation.longterm import (
    LongTermRun,
    confidence_thresholds,
    evaluate_longterm,
    re_entries,
    re_entry_hits,
    run_precision_recall,
)
from trackerzoo.formats.regions import INITIALIZATION, UNKNOWN, Rectangle, region_overlaps

SIZE = (64, 48)


def test_precision_recall_by_hand() -> None:
    overlaps = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    confidence = np.array([0.0, 0.9, 0.8, 0.1, 0.2])
    precision, recall = run_precision_recall(overlaps, confidence, 4, np.array([math.inf, 0.5, -math.inf]))
    np.testing.assert_allclose(precision, [1.0, 0.75, 2.5 / 5])
    np.testing.assert_allclose(recall, [0.0, 1.5 / 4, 2.5 / 4])


def test_f_is_best_over_thresholds_and_nan_without_visible_frames() -> None:
    run = LongTermRun(np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.9, 0.8, 0.7]), 3)
    result = evaluate_longterm({"a": [run]})
    assert result.f == pytest.approx(2 * 1.0 * (2 / 3) / (1.0 + 2 / 3))
    assert (result.precision, result.recall) == (pytest.approx(1.0), pytest.approx(2 / 3))
    nothing = evaluate_longterm({"a": [LongTermRun(np.zeros(3), np.zeros(3), 0)]})
    assert math.isnan(nothing.f)
    with pytest.raises(ValueError, match="visible_frames"):
        run_precision_recall(np.zeros(2), np.zeros(2), 0, np.zeros(1))


def test_re_entries_and_hits() -> None:
    visible = np.array([1] * 5 + [0] * 12 + [1] * 40 + [0] * 3 + [1] * 40, dtype=bool)
    assert re_entries(visible) == [17]  # the 3-frame gap is too short to count
    ious = np.zeros(visible.size)
    present = np.ones(visible.size, dtype=bool)
    assert re_entry_hits(ious, present, visible) == (0, 1)
    ious[17 + 29] = 0.6
    assert re_entry_hits(ious, present, visible) == (1, 1)
    present[17 + 29] = False  # on the target but saying it is absent does not count
    assert re_entry_hits(ious, present, visible) == (0, 1)


def _random_sequences(seed: int) -> dict:
    """Ground truth with absent spans and runs with absent reports, as our regions and as the toolkit's."""
    rng = np.random.default_rng(seed)
    sequences = {}
    for s in range(3):
        length = int(rng.integers(60, 90))
        truth = []
        for t in range(length):
            absent = 20 <= t < 35 + s
            truth.append(UNKNOWN if absent else Rectangle(*(rng.uniform(5, 30, 2)), *(rng.uniform(8, 20, 2))))
        runs = []
        for _ in range(1 + s % 2):  # one or two repetitions
            predicted = [INITIALIZATION]
            for t in range(1, length):
                if rng.random() < 0.2:
                    predicted.append(UNKNOWN)
                elif rng.random() < 0.5 and isinstance(truth[t], Rectangle):
                    g = truth[t]
                    predicted.append(Rectangle(g.x + rng.normal(0, 2), g.y + rng.normal(0, 2), g.w, g.h))
                else:
                    predicted.append(Rectangle(*(rng.uniform(0, 40, 2)), *(rng.uniform(5, 20, 2))))
            confidence = np.r_[0.0, rng.random(length - 1)]
            confidence[[region is UNKNOWN for region in predicted]] = math.nan  # absent: reported at no threshold
            runs.append((predicted, confidence))
        sequences[f"s{s}"] = (truth, runs)
    return sequences


def _toolkit_region(region):
    from vot.region import Special
    from vot.region.shapes import Rectangle as VotRectangle

    if isinstance(region, Rectangle):
        return VotRectangle(region.x, region.y, region.w, region.h)
    return Special(region.code)


class _ToolkitSequence:
    def __init__(self, truth: list) -> None:
        self._truth = [_toolkit_region(region) for region in truth]
        self.size = SIZE

    def groundtruth(self):
        return self._truth


@pytest.mark.parametrize("seed", [0, 1])
def test_precision_recall_f_match_vot_toolkit(seed: int) -> None:
    longterm = pytest.importorskip("vot.analysis.longterm")
    sequences = _random_sequences(seed)
    ours = {}
    for name, (truth, runs) in sequences.items():
        visible = sum(isinstance(region, Rectangle) for region in truth)
        ours[name] = [LongTermRun(region_overlaps(predicted, truth, SIZE), confidence, visible)
                      for predicted, confidence in runs]
    result = evaluate_longterm(ours, resolution=30)

    # The toolkit: thresholds over all confidences, per-sequence curves averaged over runs,
    # then over sequences (PrecisionRecallCurve.aggregate), F and its best point (PrecisionRecall).
    scores = [c for _, runs in sequences.values() for _, confidence in runs for c in confidence]
    thresholds = longterm.determine_thresholds(scores, 30)
    np.testing.assert_array_equal(result.thresholds, thresholds)
    curve = None
    for truth, runs in sequences.values():
        sequence = _ToolkitSequence(truth)
        pr_sum = np.zeros(len(thresholds))
        re_sum = np.zeros(len(thresholds))
        for predicted, confidence in runs:
            pr, re = longterm.compute_tpr_curves([_toolkit_region(r) for r in predicted], list(confidence),
                                                 sequence, thresholds)
            pr_sum += pr
            re_sum += re
        partial = [(p / len(runs), r / len(runs)) for p, r in zip(pr_sum, re_sum, strict=True)]
        curve = partial if curve is None else [(p1 + p2, r1 + r2) for (p1, r1), (p2, r2) in zip(curve, partial,
                                                                                                strict=True)]
    curve = [(r / len(sequences), p / len(sequences)) for p, r in curve]
    f_curve = [2 * p * r / (p + r) for r, p in curve]
    best = f_curve.index(max(f_curve))
    np.testing.assert_allclose(result.recall_curve, [r for r, _ in curve], atol=1e-12)
    np.testing.assert_allclose(result.precision_curve, [p for _, p in curve], atol=1e-12)
    assert result.f == pytest.approx(max(f_curve), abs=1e-12)
    assert (result.recall, result.precision) == (pytest.approx(curve[best][0], abs=1e-12),
                                                 pytest.approx(curve[best][1], abs=1e-12))


def test_thresholds_match_vot_toolkit_for_many_scores() -> None:
    longterm = pytest.importorskip("vot.analysis.longterm")
    scores = [*np.random.default_rng(3).random(1234), math.nan]
    np.testing.assert_array_equal(confidence_thresholds(scores), longterm.determine_thresholds(scores, 100))
