"""DAVIS J / F: hand-computed cases, vos-benchmark per frame, and scoring PNG results."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from trackerzoo.datasets import load_dataset
from trackerzoo.evaluation.benchmark import score_results
from trackerzoo.evaluation.davis import (
    boundary_tolerance,
    contour_accuracy,
    evaluate_davis,
    region_similarity,
    statistics,
)


def square(shape: tuple[int, int], top: int, left: int, size: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[top:top + size, left:left + size] = True
    return mask


def test_region_similarity_with_void_and_empty_union() -> None:
    gt = square((10, 10), 0, 0, 4)
    pred = square((10, 10), 0, 2, 4)  # 8 shared of 24
    assert region_similarity(pred, gt) == pytest.approx(8 / 24)
    void = np.zeros((10, 10), dtype=bool)
    void[:, 4:] = True  # hides the 8 predicted-only pixels
    assert region_similarity(pred, gt, void) == pytest.approx(8 / 16)
    empty = np.zeros((10, 10), dtype=bool)
    assert region_similarity(empty, empty) == 1.0


def test_contour_accuracy_extremes_and_tolerance() -> None:
    assert boundary_tolerance((480, 854)) == 8
    gt = square((100, 100), 20, 20, 30)
    assert contour_accuracy(gt, gt) == 1.0
    # tolerance at 100x100 is ceil(0.8 * sqrt(2)) = 2 px: a 1-px shift matches fully
    assert contour_accuracy(square((100, 100), 20, 21, 30), gt) == 1.0
    assert contour_accuracy(square((100, 100), 70, 70, 20), gt) == 0.0
    empty = np.zeros((100, 100), dtype=bool)
    assert contour_accuracy(empty, empty) == 1.0
    assert contour_accuracy(empty, gt) == 0.0


def test_statistics_mean_recall_decay() -> None:
    values = np.arange(8) / 10.0  # 0.0 .. 0.7
    mean, recall, decay = statistics(values)
    assert mean == pytest.approx(0.35)
    assert recall == pytest.approx(2 / 8)  # 0.6 and 0.7
    # quarter edges round(linspace(1, 8, 5)) - 1 = 0, 2, 4, 5, 7: bins [0..2] and [5..7]
    assert decay == pytest.approx(0.1 - 0.6)


def test_first_and_last_frames_are_not_scored() -> None:
    gt = [square((20, 20), 2, 2, 6)] * 4
    pred = [np.zeros((20, 20), bool), gt[1], gt[2], np.zeros((20, 20), bool)]
    result = evaluate_davis({"o": pred}, {"o": gt})
    assert result.j_mean == 1.0 and result.f_mean == 1.0 and result.jf_mean == 1.0


def _random_blob(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        center = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        axes = (int(rng.integers(3, shape[1] // 3)), int(rng.integers(3, shape[0] // 3)))
        cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    if rng.random() < 0.1:
        mask[:] = 0
    return mask.astype(bool)


@pytest.mark.parametrize("shape", [(48, 64), (240, 320)])
def test_matches_vos_benchmark_per_frame(shape: tuple[int, int]) -> None:
    evaluator_module = pytest.importorskip("vos_benchmark.evaluator")
    rng = np.random.default_rng(shape[0])
    evaluator = evaluator_module.Evaluator()
    ours_j, ours_f = [], []
    for _ in range(12):
        gt, pred = _random_blob(rng, shape), _random_blob(rng, shape)
        gt[0, 0] = True  # object 1 is present in the ground truth of every frame
        evaluator.feed_frame(pred.astype(np.uint8), gt.astype(np.uint8))
        ours_j.append(region_similarity(pred, gt))
        ours_f.append(contour_accuracy(pred, gt))
    np.testing.assert_allclose(ours_j, evaluator.object_iou[1], atol=1e-12, rtol=0)
    np.testing.assert_allclose(ours_f, evaluator.boundary_f[1], atol=1e-12, rtol=0)


def test_scores_davis_png_results_per_object(tmp_path: Path) -> None:
    shape = (24, 32)
    labels = np.zeros((4, *shape), np.uint8)
    labels[:, 2:10, 2:10] = 1
    labels[:, 12:20, 15:25] = 2
    results = labels.copy()
    results[1:3, 12:20, 15:25] = 0  # object 2 lost in the two scored frames
    frame = cv2.imencode(".jpg", np.zeros((*shape, 3), np.uint8))[1].tobytes()
    for i in range(4):
        for folder, array in (("Annotations/480p/cats", labels[i]), ("results/cats", results[i])):
            path = tmp_path / folder / f"{i:05d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            image = Image.fromarray(array, mode="P")
            image.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0] + [255] * 759)
            image.save(path)
        (tmp_path / "JPEGImages/480p/cats").mkdir(parents=True, exist_ok=True)
        (tmp_path / "JPEGImages/480p/cats" / f"{i:05d}.jpg").write_bytes(frame)
    (tmp_path / "ImageSets/2017").mkdir(parents=True)
    (tmp_path / "ImageSets/2017/val.txt").write_text("cats\n")
    dataset = load_dataset("davis", tmp_path)
    scores = score_results(dataset, tmp_path / "results", "davis")
    assert scores["per_object"]["cats_1"]["J"] == 1.0
    assert scores["per_object"]["cats_2"]["J"] == 0.0
    assert scores["J"] == pytest.approx(0.5) and scores["JF"] == pytest.approx(0.5)


def test_scores_region_line_results_rasterised_to_the_frame(tmp_path: Path) -> None:
    from trackerzoo.formats.regions import Mask, Rectangle
    from trackerzoo.formats.results_io import write_region_file

    shape = (24, 32)
    labels = np.zeros((3, *shape), np.uint8)
    labels[:, 4:12, 4:12] = 1
    frame = cv2.imencode(".jpg", np.zeros((*shape, 3), np.uint8))[1].tobytes()
    for i in range(3):
        path = tmp_path / "Annotations/480p/fish" / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), labels[i] * 255)
        (tmp_path / "JPEGImages/480p/fish").mkdir(parents=True, exist_ok=True)
        (tmp_path / "JPEGImages/480p/fish" / f"{i:05d}.jpg").write_bytes(frame)
    (tmp_path / "ImageSets/2016").mkdir(parents=True)
    (tmp_path / "ImageSets/2016/val.txt").write_text("fish\n")
    half = np.zeros(shape, bool)
    half[4:12, 4:8] = True  # frame 1 (the only scored frame): half of the object
    write_region_file(tmp_path / "results" / "fish.txt", [Rectangle(4, 4, 8, 8), Mask(half), Rectangle(0, 0, 1, 1)])
    scores = score_results(load_dataset("davis", tmp_path, year=2016), tmp_path / "results", "davis")
    assert scores["J"] == pytest.approx(0.5)
