"""VOT anchor-based accuracy, robustness and EAO: hand-computed runs and vot-toolkit."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.datasets import load_dataset
from trackerzoo.errors import NothingToScoreWarning
from trackerzoo.evaluation.benchmark import score_results
from trackerzoo.evaluation.vot import AnchorRun, VOTTruth, evaluate_vot, failure_progress
from trackerzoo.formats.regions import INITIALIZATION, Mask, Polygon, Rectangle, format_region
from trackerzoo.formats.results_io import vot_result_path, write_region_file

SIZE = (40, 40)
TARGET = Rectangle(5, 5, 10, 10)
FAR = Rectangle(25, 25, 10, 10)


def _run(length: int, bad: range) -> list:
    return [INITIALIZATION] + [FAR if i in bad else TARGET for i in range(1, length)]


def test_failure_at_first_frame_of_ten_bad_frames() -> None:
    overlaps = np.array([1.0] * 5 + [0.05] * 9 + [0.5] + [0.0] * 10 + [1.0] * 3)
    empty = np.zeros(overlaps.size, dtype=bool)
    assert failure_progress(overlaps, empty) == 15  # the 9-frame streak does not fail; the 10-frame one does
    empty[20] = True  # an absent-target frame breaks the streak
    assert failure_progress(overlaps, empty) == overlaps.size


def test_single_failed_run_accuracy_robustness_and_eao() -> None:
    truth = {"s": VOTTruth([TARGET] * 30, SIZE, [AnchorRun(0, False)])}
    result = evaluate_vot(truth, {"s": {0: _run(30, range(10, 20))}})
    # failure at frame 10: frames 0..9 count, frame 0 is the initialisation marker (overlap 0)
    assert result.accuracy == pytest.approx(9 / 10)
    assert result.robustness == pytest.approx(10 / 30)
    # after failure overlaps are 0; beyond the run's end the toolkit divides by j - 1
    expected_curve = [min(j, 9) / j for j in range(1, 30)] + [9 / (j - 1) for j in range(30, 755)]
    np.testing.assert_allclose(result.eao_curve[1:], expected_curve)
    assert result.eao == pytest.approx(np.mean([9 / (j - 1) for j in range(115, 755)]))


def test_run_without_failure_stops_counting_after_its_end() -> None:
    truth = {"s": VOTTruth([TARGET] * 20, SIZE, [AnchorRun(0, False), AnchorRun(19, True)])}
    runs = {0: _run(20, range(0)), 19: _run(20, range(0))}
    with pytest.warns(NothingToScoreWarning, match=r"no run reaches the EAO interval \[115, 755\]"):
        result = evaluate_vot(truth, {"s": runs})
    assert result.robustness == pytest.approx(1.0)
    assert result.accuracy == pytest.approx(38 / 40)
    # no run is active at lengths >= 20, so the EAO interval holds nothing to average (issue #20 item 11)
    assert result.eao_curve[25] == 0.0 and math.isnan(result.eao)


def test_absent_target_frames_never_fail_and_score_by_emptiness() -> None:
    empty = Mask(np.zeros((1, 1), dtype=bool), (0, 0))
    gt = [TARGET] * 10 + [empty] * 10 + [TARGET] * 10
    predicted = [INITIALIZATION] + [TARGET] * 9 + [FAR] * 5 + [empty] * 5 + [TARGET] * 10
    with pytest.warns(NothingToScoreWarning, match="EAO is undefined"):  # 30 frames, no failure
        result = evaluate_vot({"s": VOTTruth(gt, SIZE, [AnchorRun(0, False)])}, {"s": {0: predicted}})
    assert result.robustness == pytest.approx(1.0)
    # overlaps: 0 (init), 9 x 1, 5 x 0 (box on absent target), 5 x 1 (both empty), 10 x 1
    assert result.accuracy == pytest.approx(24 / 30)


def test_missing_run_is_named() -> None:
    truth = {"seq": VOTTruth([TARGET] * 5, SIZE, [AnchorRun(0, False), AnchorRun(3, False)])}
    with pytest.raises(ValueError, match="'seq' anchor 3"):
        evaluate_vot(truth, {"seq": {0: _run(5, range(0))}})


# --------------------------------------------------------------------------- vot-toolkit


def _random_region(kind: str, rng: np.random.Generator, center: np.ndarray, size: np.ndarray):
    x, y = center - size / 2
    if kind == "rectangle":
        return Rectangle(float(x), float(y), float(size[0]), float(size[1]))
    if kind == "polygon":
        angle = rng.uniform(0, np.pi)
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * size / 2
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return Polygon((corners @ rotation.T + center).round(2))
    height, width = max(int(size[1]), 2), max(int(size[0]), 2)
    patch = rng.random((height, width)) < 0.8
    patch[:, :2] = True  # at least two columns wide
    return Mask(patch, (int(x), int(y)))


def _write_random_vot(root: Path, rng: np.random.Generator) -> None:
    frame = cv2.imencode(".png", np.zeros((36, 48, 3), np.uint8))[1].tobytes()
    names = []
    for index, kind in enumerate(("rectangle", "polygon", "mask")):
        name = f"seq{index}"
        names.append(name)
        folder = root / "data" / name
        (folder / "color").mkdir(parents=True)
        length = int(rng.integers(60, 140))
        for i in range(length):
            (folder / "color" / f"{i + 1:08d}.png").write_bytes(frame)
        (folder / "sequence").write_text("channels.color=color/%08d.png\nfps=30\nformat=default\n")
        centers = np.cumsum(rng.normal(0, 1.5, (length, 2)), axis=0) + np.array([24.0, 18.0])
        sizes = np.abs(rng.normal(12, 2, (length, 2))) + 4
        gt = [_random_region(kind, rng, c, s) for c, s in zip(centers, sizes, strict=True)]
        if kind == "mask":
            for i in range(20, 26):
                gt[i] = Mask(np.zeros((1, 1), dtype=bool), (0, 0))  # target absent
        write_region_file(folder / "groundtruth.txt", gt)
        anchors = np.zeros(length)
        anchors[[0, length // 3, length // 2]] = 1
        anchors[length - 1] = -1
        (folder / "anchor.value").write_text("".join(f"{int(a)}\n" for a in anchors))
        for start in np.flatnonzero(anchors):
            frames = range(start, -1, -1) if anchors[start] < 0 else range(start, length)
            predicted = [INITIALIZATION]
            drift_from = int(rng.integers(5, 60))
            for step, i in enumerate(list(frames)[1:], start=1):
                offset = rng.normal(0, 1.5, 2) + (step > drift_from) * (step - drift_from) * 1.2
                predicted.append(_random_region(kind if step % 3 else "rectangle", rng, centers[i] + offset,
                                                sizes[i] * rng.uniform(0.8, 1.2, 2)))
            write_region_file(vot_result_path(root / "results", name, int(start)), predicted)
    (root / "data" / "list.txt").write_text("\n".join(names) + "\n")


def test_matches_vot_toolkit_on_random_runs(tmp_path: Path) -> None:
    pytest.importorskip("vot")
    multistart = pytest.importorskip("vot.analysis.multistart")
    from vot.dataset.common import read_sequence
    from vot.tracker.results import Results
    from vot.workspace.storage import LocalStorage

    rng = np.random.default_rng(5)
    _write_random_vot(tmp_path, rng)
    dataset = load_dataset("vot", tmp_path / "data")
    ours = score_results(dataset, tmp_path / "results", "vot")

    ar_results, eao_results, sequences = [], [], []
    for sequence in dataset:
        reference_sequence = read_sequence(str(tmp_path / "data" / sequence.name))
        storage = Results(LocalStorage(str(tmp_path / "results" / sequence.name)))

        class Experiment:
            anchor = "anchor"

            def results(self, tracker, seq, storage=storage):
                return storage

        ar_results.append(multistart.AccuracyRobustness().subcompute(Experiment(), None, reference_sequence, []))
        eao_results.append(multistart.EAOCurves(high=755).subcompute(Experiment(), None, reference_sequence, []))
        sequences.append(reference_sequence)
    accuracy, robustness, *_ = multistart.AverageAccuracyRobustness().aggregate(None, sequences, ar_results)
    curve = multistart.EAOCurve(high=755).aggregate(None, sequences, eao_results)[0]
    eao = float(np.mean(curve[115:756]))

    assert 0.05 < robustness < 0.999  # the random runs do fail somewhere
    assert ours["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert ours["robustness"] == pytest.approx(robustness, abs=1e-9)
    assert ours["eao"] == pytest.approx(eao, abs=1e-9)
    for sequence, reference in zip(dataset, ar_results, strict=True):
        assert ours["per_sequence"][sequence.name]["accuracy"] == pytest.approx(reference[0], abs=1e-9)
        assert ours["per_sequence"][sequence.name]["robustness"] == pytest.approx(reference[1], abs=1e-9)


def test_written_results_parse_back(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    regions = [INITIALIZATION, Rectangle(1.5, 2, 3, 4), Polygon(np.array([[0, 0], [4, 0], [4, 4.5]]))]
    write_region_file(path, regions)
    assert path.read_text().splitlines() == [format_region(r) for r in regions]
