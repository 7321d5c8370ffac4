"""GOT-10k AO / SR: hand-computed cases and the official toolkit's report on a tiny val tree."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.datasets import load_dataset
from trackerzoo.evaluation.benchmark import score_results
from trackerzoo.evaluation.got10k import bound_boxes, evaluate_got10k
from trackerzoo.formats.results_io import write_box_file, write_times


def test_frame_zero_and_invisible_frames_are_excluded() -> None:
    gt = np.array([[0, 0, 10, 10]] * 4, dtype=float)
    pred = np.array([[90, 90, 1, 1], [0, 0, 10, 10], [0, 0, 10, 5], [50, 50, 10, 10]], dtype=float)
    visible = np.array([True, True, True, False])
    result = evaluate_got10k({"a": pred}, {"a": gt}, {"a": (100, 100)}, {"a": visible})
    # scored frames: 1 (IoU 1) and 2 (IoU 0.5)
    assert result.frames == 2
    assert result.ao == pytest.approx(0.75)
    assert result.sr50 == pytest.approx(0.5)  # 0.5 > 0.5 is false
    assert result.sr75 == pytest.approx(0.5)


def test_frames_are_pooled_over_sequences_and_repetitions() -> None:
    gt = np.array([[0, 0, 10, 10]] * 3, dtype=float)
    good = gt.copy()
    bad = gt + np.array([30, 30, 0, 0])
    long_gt = np.array([[0, 0, 10, 10]] * 5, dtype=float)
    result = evaluate_got10k({"a": [good, bad], "b": long_gt.copy()}, {"a": gt, "b": long_gt},
                             {"a": (100, 100), "b": (100, 100)})
    # a: 2 + 2 frames (IoU 1,1,0,0), b: 4 frames of IoU 1 -> 6 / 8
    assert result.ao == pytest.approx(6 / 8)
    assert result.per_sequence["a"]["ao"] == pytest.approx(0.5)


def test_bounding_follows_the_toolkit() -> None:
    boxes = bound_boxes(np.array([[-10, 5, 30, 10], [90, 95, 30, 30]]), 100, 100)
    # x clipped to 0 but the width is only limited by the image edge (toolkit behaviour)
    np.testing.assert_array_equal(boxes, [[0, 5, 30, 10], [90, 95, 10, 5]])


def _write_got10k_val(root: Path, rng: np.random.Generator, sequences: int) -> dict[str, np.ndarray]:
    split = root / "val"
    names, gts = [], {}
    frame = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1].tobytes()
    for index in range(sequences):
        name = f"GOT-10k_Val_{index + 1:06d}"
        folder = split / name
        folder.mkdir(parents=True)
        length = int(rng.integers(8, 20))
        for i in range(length):
            (folder / f"{i + 1:08d}.jpg").write_bytes(frame)
        gt = np.column_stack([rng.uniform(-5, 50, (length, 2)), rng.uniform(5, 30, (length, 2))]).round(2)
        write_box_file(folder / "groundtruth.txt", gt)
        cover = rng.integers(0, 9, length)
        cover[0] = 8
        (folder / "cover.label").write_text("".join(f"{c}\n" for c in cover))
        (folder / "absence.label").write_text("".join(f"{int(c == 0)}\n" for c in cover))
        (folder / "cut_by_image.label").write_text("0\n" * length)
        (folder / "meta_info.ini").write_text("[METAINFO]\nurl: none\nresolution: (64, 48)\n")
        names.append(name)
        gts[name] = gt
    (split / "list.txt").write_text("\n".join(names) + "\n")
    return gts


def test_matches_official_got10k_report(tmp_path: Path) -> None:
    got10k_experiment = pytest.importorskip("got10k.experiments.got10k")
    rng = np.random.default_rng(11)
    gts = _write_got10k_val(tmp_path / "data", rng, sequences=5)
    result_root = tmp_path / "results"
    tracker_dir = result_root / "GOT-10k" / "mine"
    for name, gt in gts.items():
        for repetition in (1, 2):
            pred = gt + rng.normal(0, 6, gt.shape).round(2)
            pred[:, 2:] = np.abs(pred[:, 2:]) + 0.5
            write_box_file(tracker_dir / name / f"{name}_{repetition:03d}.txt", pred)
        write_times(tracker_dir / name / f"{name}_time.txt", [0.01] * len(gt))

    experiment = got10k_experiment.ExperimentGOT10k(str(tmp_path / "data"), subset="val",
                                                    result_dir=str(result_root), report_dir=str(tmp_path / "rep"))
    experiment.result_dir = str(result_root / "GOT-10k")
    experiment.plot_curves = lambda *args, **kwargs: None
    reference = experiment.report(["mine"])["mine"]["overall"]

    dataset = load_dataset("got10k", tmp_path / "data", split="val")
    ours = score_results(dataset, tracker_dir, "got10k")
    assert ours["ao"] == pytest.approx(reference["ao"], abs=1e-9)
    assert ours["sr50"] == pytest.approx(reference["sr"], abs=1e-9)
    assert ours["sr75"] == pytest.approx(reference["succ_curve"][75], abs=1e-9)
    np.testing.assert_allclose(ours["success_curve"], reference["succ_curve"], atol=1e-9, rtol=0)
