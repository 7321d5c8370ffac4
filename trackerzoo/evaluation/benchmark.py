"""Score a folder of result files against a loaded dataset with the right protocol.

This is the glue between ``trackerzoo.datasets`` (ground truth), ``results_io`` (what
trackers wrote) and the metric modules; ``trackerzoo eval-results`` and the
evaluation runner both call ``score_results``.

Protocols and where they look for results (see ``results_io`` for the formats):

* ``ope``    -- OTB, LaSOT, UAV123, NfS, TrackingNet, plain: ``<results>/<seq>.txt``
  (or the GOT-10k layout ``<seq>/<seq>_001.txt``; the first repetition is used);
* ``got10k`` -- ``<seq>.txt`` or ``<seq>/<seq>_NNN.txt`` (all repetitions pooled);
* ``ope`` and ``got10k`` add the long-term metrics (``longterm.longterm_metrics``: the
  first repetition, ``<seq>_present.value``/``<seq>_confidence.value`` when present) when
  some sequence has frames without a visible target;
* ``vot``    -- ``<results>/<seq>/<seq>_<anchor:08d>.txt`` region lines per run, or
  the ``.bin`` file vot-toolkit 0.9 writes there by default;
* ``davis``  -- DAVIS, YouTube-VOS: ``<results>/<video>/<frame>.png`` index PNGs in
  the DAVIS submission format, or ``<results>/<seq>.txt`` region lines (``m...``
  masks, rectangles or polygons) rasterised to the frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.evaluation.davis import evaluate_davis
from trackerzoo.evaluation.got10k import evaluate_got10k
from trackerzoo.evaluation.longterm import has_absent_frames, longterm_metrics
from trackerzoo.evaluation.ope import INVALID_FRAME_RULES, evaluate_ope
from trackerzoo.evaluation.vot import VOTTruth, evaluate_vot, sequence_anchor_runs
from trackerzoo.formats.regions import rasterize
from trackerzoo.formats.results_io import (
    box_result_path,
    find_box_results,
    find_vot_result,
    read_box_file,
    read_region_file,
    read_vot_result,
    vot_result_path,
)

PROTOCOL_OF_KIND = {
    "otb": "ope", "lasot": "ope", "uav123": "ope", "nfs": "ope", "trackingnet": "ope",
    "plain": "ope", "video": "ope", "images": "ope",
    "got10k": "got10k", "vot": "vot", "davis": "davis", "youtube_vos": "davis",
}
PROTOCOLS = ("ope", "got10k", "vot", "davis")


def protocol_for(kind: str, dataset: Dataset | None = None) -> str:
    """The protocol of a dataset kind; unknown kinds with VOT anchors use ``vot``, else ``ope``."""
    key = kind.lower()
    if key in PROTOCOL_OF_KIND:
        return PROTOCOL_OF_KIND[key]
    if dataset is not None and len(dataset) and dataset[0].anchors:
        return "vot"
    return "ope"


def _box_results(results_dir: Path, sequence: Sequence) -> list[np.ndarray]:
    files = find_box_results(results_dir, sequence.name)
    if not files:
        raise FileNotFoundError(f"no result file for sequence {sequence.name!r} in {os.fspath(results_dir)!r} "
                                f"(expected {sequence.name}.txt)")
    runs = [read_box_file(f, allow_empty_lines=True) for f in files]
    for file, run in zip(files, runs, strict=True):
        if len(run) != len(sequence):
            raise ValueError(f"{os.fspath(file)!r} has {len(run)} boxes for {len(sequence)} frames")
    return runs


def score_ope(dataset: Dataset, results_dir: Path, *, invalid_frames: str = "count") -> dict[str, Any]:
    if invalid_frames not in INVALID_FRAME_RULES:
        raise ValueError(f"invalid_frames={invalid_frames!r}; expected one of {INVALID_FRAME_RULES}")
    for sequence in dataset:
        if len(sequence) > 1 and not np.isfinite(sequence.boxes[1:]).any():
            raise ValueError(f"sequence {sequence.name!r} has ground truth only for its first frame "
                             "(a test split scored by an evaluation server); it cannot be scored locally")
    predictions = {s.name: _box_results(results_dir, s)[0] for s in dataset}
    result = evaluate_ope(predictions, {s.name: s.boxes for s in dataset}, {s.name: s.visible for s in dataset},
                          invalid_frames=invalid_frames)
    longterm = (longterm_metrics(results_dir, dataset, predictions, {s.name: s.image_size for s in dataset})
                if has_absent_frames(dataset) else {})
    return {"protocol": "ope", **result.summary(), **longterm,
            "success_curve": result.success_curve.tolist(), "precision_curve": result.precision_curve.tolist(),
            "norm_precision_curve": result.normalized_precision_curve.tolist(),
            "per_sequence": {name: {"auc": float(np.mean(c.success)), "precision": float(c.precision[20]),
                                    "norm_precision": float(c.normalized_precision[20])}
                             for name, c in result.per_sequence.items()}}


def score_got10k(dataset: Dataset, results_dir: Path) -> dict[str, Any]:
    predictions = {s.name: _box_results(results_dir, s) for s in dataset}
    result = evaluate_got10k(predictions, {s.name: s.boxes for s in dataset},
                             {s.name: s.image_size for s in dataset}, {s.name: s.visible for s in dataset})
    longterm = (longterm_metrics(results_dir, dataset, {name: runs[0] for name, runs in predictions.items()},
                                 {s.name: s.image_size for s in dataset}) if has_absent_frames(dataset) else {})
    return {"protocol": "got10k", **result.summary(), **longterm, "success_curve": result.success_curve.tolist(),
            "per_sequence": result.per_sequence}


def score_vot(dataset: Dataset, results_dir: Path) -> dict[str, Any]:
    truth: dict[str, VOTTruth] = {}
    predictions: dict[str, dict[int, list]] = {}
    for sequence in dataset:
        if sequence.regions is None:
            raise ValueError(f"sequence {sequence.name!r} has no VOT regions; the vot protocol needs a VOT dataset")
        runs = sequence_anchor_runs(sequence)
        truth[sequence.name] = VOTTruth(list(sequence.regions), sequence.image_size, runs)
        predictions[sequence.name] = {}
        for run in runs:
            path = find_vot_result(results_dir, sequence.name, run.start)
            if path is None:
                expected = vot_result_path(results_dir, sequence.name, run.start)
                raise FileNotFoundError(f"no result for {sequence.name!r} anchor {run.start}: "
                                        f"{os.fspath(expected)!r} (or .bin)")
            predictions[sequence.name][run.start] = read_vot_result(path)
    result = evaluate_vot(truth, predictions)
    return {"protocol": "vot", **result.summary(), "eao_curve": result.eao_curve.tolist(),
            "per_sequence": result.per_sequence}


def _predicted_masks(results_dir: Path, sequence: Sequence) -> list[np.ndarray]:
    from trackerzoo.datasets.loaders.common import read_index_png

    width, height = sequence.image_size
    region_file = box_result_path(results_dir, sequence.name)  # the name is checked as a safe file name
    if region_file.is_file():
        regions = read_region_file(region_file)
        if len(regions) != len(sequence):
            raise ValueError(f"{os.fspath(region_file)!r} has {len(regions)} regions for {len(sequence)} frames")
        return [rasterize(r, width, height) for r in regions]
    video = sequence.attributes.get("video", sequence.name)
    object_id = sequence.attributes.get("object_id")
    folder = results_dir / str(video)
    if not folder.is_dir():
        raise FileNotFoundError(f"no result for {sequence.name!r}: neither {os.fspath(region_file)!r} "
                                f"nor the folder {os.fspath(folder)!r} exists")
    masks = []
    for frame_path in sequence.frame_source.paths:  # type: ignore[attr-defined]
        png = folder / f"{Path(frame_path).stem}.png"
        if not png.is_file():
            raise FileNotFoundError(f"missing result mask {os.fspath(png)!r}")
        labels = read_index_png(png)
        masks.append(labels > 0 if object_id is None else labels == object_id)
    return masks


def score_davis(dataset: Dataset, results_dir: Path) -> dict[str, Any]:
    predictions, groundtruth, voids = {}, {}, {}
    for sequence in dataset:
        if not sequence.has_masks:
            raise ValueError(f"sequence {sequence.name!r} has no masks; the davis protocol needs mask ground truth")
        gt = [sequence.mask(i) for i in range(len(sequence))]
        if any(m is None for m in gt):
            raise ValueError(f"sequence {sequence.name!r} lacks ground-truth masks on some frames "
                             "(e.g. a YouTube-VOS valid/test split); it cannot be scored locally")
        groundtruth[sequence.name] = gt
        voids[sequence.name] = [sequence.ignore_mask(i) for i in range(len(sequence))]
        predictions[sequence.name] = _predicted_masks(results_dir, sequence)
    result = evaluate_davis(predictions, groundtruth, voids)
    return {"protocol": "davis", **result.summary(), "per_object": result.per_object}


def score_results(dataset: Dataset, results_dir: str | os.PathLike, protocol: str, **options: Any) -> dict[str, Any]:
    """Metrics of the result files in ``results_dir`` for every sequence of ``dataset``."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"results folder {os.fspath(results_dir)!r} does not exist")
    if protocol == "ope":
        return score_ope(dataset, folder, **options)
    if protocol == "got10k":
        return score_got10k(dataset, folder)
    if protocol == "vot":
        return score_vot(dataset, folder)
    if protocol == "davis":
        return score_davis(dataset, folder)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
