"""OPE success / precision / normalized precision: hand-computed cases and got10k's OTB code."""

from __future__ import annotations

import numpy as np
import pytest

from trackerzoo.evaluation.ope import SUCCESS_THRESHOLDS, evaluate_ope, sequence_curves

GT = np.array([[0, 0, 10, 10]] * 3, dtype=float)
# frame 0: anything (scored as the ground truth), frame 1: IoU 0.5 and centre error 2.5,
# frame 2: no overlap, centre error sqrt(2) * 20.
PRED = np.array([[50, 50, 1, 1], [0, 0, 10, 5], [20, 20, 10, 10]], dtype=float)


def test_three_frame_sequence_known_auc_and_precisions() -> None:
    result = evaluate_ope({"a": PRED}, {"a": GT})
    # success: thresholds 0..0.45 -> 2/3 (IoU 1 and 0.5), 0.5..0.95 -> 1/3, 1.0 -> 0
    expected_curve = np.array([2 / 3] * 10 + [1 / 3] * 10 + [0.0])
    np.testing.assert_allclose(result.success_curve, expected_curve)
    assert result.auc == pytest.approx(10 / 21)
    assert result.precision == pytest.approx(2 / 3)  # errors 0, 2.5, 28.3 px
    # normalized: offsets / (10, 10): 0, 0.25, 2.83 -> only frame 0 within 0.20
    assert result.normalized_precision == pytest.approx(1 / 3)


def test_success_is_strictly_greater_than_threshold() -> None:
    gt = np.array([[0, 0, 10, 10]] * 2, dtype=float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 5]], dtype=float)  # IoU exactly 0.5 on frame 1
    curves = sequence_curves(pred, gt)
    index = int(np.argmin(np.abs(SUCCESS_THRESHOLDS - 0.5)))
    assert curves.success[index] == pytest.approx(0.5)  # 0.5 > 0.5 is false
    assert curves.success[index - 1] == pytest.approx(1.0)


def test_sequences_weigh_equally() -> None:
    long_gt = np.array([[0, 0, 10, 10]] * 4, dtype=float)
    result = evaluate_ope({"short": PRED, "long": long_gt.copy()}, {"short": GT, "long": long_gt})
    assert result.auc == pytest.approx((10 / 21 + 20 / 21) / 2)


def test_absent_frames_stay_in_denominator_and_missing_predictions_repeat() -> None:
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], dtype=float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4], dtype=float)
    counted = sequence_curves(pred, gt)
    # frame 3 repeats frame 2's box (perfect); frame 2 has unknown ground truth: never a success
    assert counted.success[0] == pytest.approx(3 / 4)
    assert counted.precision[20] == pytest.approx(3 / 4)
    excluded = sequence_curves(pred, gt, invalid_frames="exclude")
    assert excluded.success[0] == pytest.approx(1.0) and excluded.frames == 3
    hidden = sequence_curves(np.array(GT), GT, visible=np.array([True, False, True]))
    assert hidden.success[0] == pytest.approx(2 / 3)


def test_bad_input_names_the_value() -> None:
    with pytest.raises(ValueError, match="'sometimes'"):
        sequence_curves(PRED, GT, invalid_frames="sometimes")
    with pytest.raises(ValueError, match=r"\['b'\]"):
        evaluate_ope({"a": PRED}, {"a": GT, "b": GT})


def test_matches_got10k_otb_experiment_on_random_boxes() -> None:
    otb = pytest.importorskip("got10k.experiments.otb")
    experiment = object.__new__(otb.ExperimentOTB)
    experiment.nbins_iou, experiment.nbins_ce = 21, 51
    rng = np.random.default_rng(3)
    predictions, groundtruth, reference_success, reference_precision = {}, {}, [], []
    for index in range(6):
        length = int(rng.integers(20, 60))
        gt = np.column_stack([rng.uniform(0, 200, (length, 2)), rng.uniform(10, 80, (length, 2))])
        pred = gt + rng.normal(0, 12, gt.shape)
        pred[:, 2:] = np.abs(pred[:, 2:]) + 1
        pred[0] = gt[0]
        predictions[f"s{index}"], groundtruth[f"s{index}"] = pred, gt
        ious, errors = experiment._calc_metrics(pred.copy(), gt.copy())
        success, precision = experiment._calc_curves(ious, errors)
        reference_success.append(success)
        reference_precision.append(precision)
    result = evaluate_ope(predictions, groundtruth)
    np.testing.assert_allclose(result.success_curve, np.mean(reference_success, axis=0), atol=1e-12, rtol=0)
    np.testing.assert_allclose(result.precision_curve, np.mean(reference_precision, axis=0), atol=1e-12, rtol=0)
    assert result.auc == pytest.approx(float(np.mean(np.mean(reference_success, axis=0))), abs=1e-12)
