"""Scoring result folders of one dataset and formatting the comparison table.

Which metrics a dataset gets follows its kind: ``vot`` -> EAO, accuracy, robustness;
``got10k`` and ``synthetic`` -> GOT-10k AO/SR plus the OPE curves (both use the
visibility flags: frames where the target is fully hidden or out of view do not
count for AO/SR, and count as failures in the OPE curves, the LaSOT rule); every
other kind -> OPE success AUC, precision and normalized precision.

Long-term metrics (``trackerzoo.evaluation.longterm``) join the GOT-10k-style kinds when
the target is absent on some frame of the scored sequences: ``lt_precision``,
``lt_recall``, ``lt_f`` (VOT-LT, over the presence confidences of ``<seq>_confidence.value``;
a folder without them scores every frame as reported with confidence 0, as the
vot-toolkit does), ``re_entry`` (fraction of re-entries after which the tracker is back
on target within 30 frames) and ``auc_present`` (OPE success AUC with the absent frames
left out, the GOT-10k rule, instead of counted as failures).

Metric names are the same in every table, JSON report and plot of the CLI:
``ao``, ``sr50``, ``sr75`` (GOT-10k), ``auc``, ``precision`` (at 20 px), ``norm_precision``
(OPE), ``eao``, ``accuracy``, ``robustness`` (VOT), ``J``, ``F``, ``JF`` (DAVIS), and the
speed read from the per-frame times the runner recorded (``speed_metrics``): ``fps``,
frames per second of the tracking calls alone, and ``init_s``, the mean seconds of a
run's first frame (the tracker's initialisation), reported apart.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackerzoo.errors import NothingToScoreWarning
from trackerzoo.evaluation.longterm import has_absent_frames, longterm_metrics
from trackerzoo.evaluation.runner import RUN_RECORD, VOT_KINDS
from trackerzoo.formats import results_io

GOT10K_STYLE_KINDS = frozenset({"got10k", "synthetic"})


@dataclass
class ScoredRun:
    """Metrics of one result folder, plus the curves the plots need."""

    label: str
    folder: Path
    metrics: dict[str, float]
    success_curve: np.ndarray | None = None
    precision_curve: np.ndarray | None = None
    eao_curve: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_label(folder: Path) -> str:
    """The tracker recorded by the runner, else the folder name.

    Non-default variant, weights and parameters are appended, so that runs of one tracker
    (an ablation table) stay apart in a comparison: ``cract (use_discriminator=False)``.
    """
    record = folder / RUN_RECORD
    if not record.is_file():
        return folder.name
    try:
        run = json.loads(record.read_text())
        name = str(run["tracker"])
    except (ValueError, KeyError, TypeError):
        return folder.name
    details = []
    if run.get("variant"):
        details.append(f"variant={run['variant']}")
    if run.get("weights") not in (None, "default"):
        weights = Path(str(run["weights"]))  # folder and file: runs often name their file model.safetensors
        details.append(f"weights={weights.parent.name}/{weights.name}" if weights.parent.name else f"weights={weights}")
    details += [f"{key}={value}" for key, value in sorted((run.get("params") or {}).items())]
    return f"{name} ({', '.join(details)})" if details else name


def _image_size(sequence) -> tuple[int, int]:
    size = sequence.attributes.get("frame_size")
    if size is not None:
        return int(size[0]), int(size[1])
    height, width = sequence.frame(0).shape[:2]
    return width, height


def speed_metrics(time_files: list[Path]) -> dict[str, float]:
    """``{"fps": ..., "init_s": ...}`` from per-frame time files (one line of seconds per frame).

    The first line of each file is the initialisation (``Tracker.initialize``) and is
    averaged into ``init_s``; ``fps`` is the later frames over their summed seconds.
    Non-finite lines are skipped. Both are NaN when a file is missing (speed unknown).
    """
    tracked_frames, tracked_seconds, init_seconds = 0, 0.0, []
    for path in time_files:
        if not path.is_file():
            return {"fps": math.nan, "init_s": math.nan}
        times = results_io.read_times(path)
        if times.size and math.isfinite(float(times[0])):
            init_seconds.append(float(times[0]))
        later = times[1:][np.isfinite(times[1:])]
        tracked_frames += int(later.size)
        tracked_seconds += float(later.sum())
    fps = tracked_frames / tracked_seconds if tracked_seconds > 0 else math.nan
    return {"fps": fps, "init_s": float(np.mean(init_seconds)) if init_seconds else math.nan}


def result_time_files(folder: str | Path, dataset, protocol: str) -> list[Path]:
    """The per-frame time files that belong to ``folder``'s results of ``dataset``.

    ``vot``: one ``<seq>/<seq>_<anchor>_time.value`` per anchor run; other protocols:
    ``<seq>_time.txt``, or ``<seq>/<seq>_time.txt`` (the GOT-10k toolkit's layout) when
    only that one exists. Paths are returned whether or not the files exist.
    """
    from trackerzoo.evaluation.vot import sequence_anchor_runs

    folder = Path(folder)
    files: list[Path] = []
    for seq in dataset:
        if protocol == "vot":
            files += [results_io.vot_time_path(folder, seq.name, run.start) for run in sequence_anchor_runs(seq)]
            continue
        flat = results_io.box_time_path(folder, seq.name)
        nested = results_io.box_time_path(folder / seq.name, seq.name)
        files.append(nested if not flat.is_file() and nested.is_file() else flat)
    return files


def _read_box_results(folder: Path, sequence) -> np.ndarray:
    files = results_io.find_box_results(folder, sequence.name)
    if not files:
        raise ValueError(f"result folder {str(folder)!r} has no result for sequence {sequence.name!r}")
    boxes = results_io.read_box_file(files[0])
    if len(boxes) != len(sequence):
        raise ValueError(f"{str(files[0])!r} has {len(boxes)} boxes for {len(sequence)} frames")
    return boxes


def _scorable(dataset) -> list:
    """Sequences with ground truth after frame 0; a ``NothingToScoreWarning`` names the others.

    A plain video with only its initial box (or a test split) has nothing to compare the
    tracker with: scoring it would report a meaningless, near-zero AUC.
    """
    keep = [seq for seq in dataset if len(seq) > 1 and np.isfinite(seq.boxes[1:]).all(axis=1).any()]
    skipped = [seq.name for seq in dataset if seq not in keep]
    if skipped:
        listing = ", ".join(repr(name) for name in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        scope = "nothing is scored (NaN)" if not keep else "they are left out of the scores"
        warnings.warn(f"{len(skipped)} sequence(s) have no ground truth after the first frame ({listing}), "
                      f"so {scope}", NothingToScoreWarning, stacklevel=3)
    return keep


def score_box_folder(folder: Path, dataset, kind: str) -> ScoredRun:
    from trackerzoo.evaluation.got10k import evaluate_got10k
    from trackerzoo.evaluation.ope import PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS, evaluate_ope

    times = [results_io.box_time_path(folder, seq.name) for seq in dataset]
    scorable = _scorable(dataset)
    if not scorable:
        for seq in dataset:  # the results must still be there and complete
            _read_box_results(folder, seq)
        names = (["ao", "sr50", "sr75"] if kind in GOT10K_STYLE_KINDS else []) + ["auc", "precision", "norm_precision"]
        return ScoredRun(run_label(folder), folder, {**dict.fromkeys(names, math.nan), **speed_metrics(times)},
                         np.full(len(SUCCESS_THRESHOLDS), math.nan), np.full(len(PRECISION_THRESHOLDS), math.nan))
    dataset = scorable
    predictions = {seq.name: _read_box_results(folder, seq) for seq in dataset}
    groundtruth = {seq.name: seq.boxes for seq in dataset}
    visible = {seq.name: seq.visible for seq in dataset}
    ope = evaluate_ope(predictions, groundtruth, visible)
    metrics: dict[str, float] = {}
    if kind in GOT10K_STYLE_KINDS:
        got = evaluate_got10k(predictions, groundtruth, {seq.name: _image_size(seq) for seq in dataset}, visible)
        metrics.update({"ao": got.ao, "sr50": got.sr50, "sr75": got.sr75})
    metrics.update({"auc": ope.auc, "precision": ope.precision, "norm_precision": ope.normalized_precision})
    if kind in GOT10K_STYLE_KINDS and has_absent_frames(dataset):
        metrics.update(longterm_metrics(folder, dataset, predictions, {seq.name: _image_size(seq) for seq in dataset}))
    metrics.update(speed_metrics(times))
    return ScoredRun(run_label(folder), folder, metrics, ope.success_curve, ope.precision_curve)


def score_vot_folder(folder: Path, dataset) -> ScoredRun:
    from trackerzoo.evaluation.vot import VOTTruth, evaluate_vot, sequence_anchor_runs

    truth, predictions, time_files = {}, {}, []
    for seq in dataset:
        runs = sequence_anchor_runs(seq)
        truth[seq.name] = VOTTruth(list(seq.regions), _image_size(seq), runs)
        predictions[seq.name] = {}
        for run in runs:
            path = results_io.vot_result_path(folder, seq.name, run.start)
            if not path.is_file():
                raise ValueError(f"result folder {str(folder)!r} has no run for {seq.name!r} anchor {run.start}")
            predictions[seq.name][run.start] = results_io.read_region_file(path)
            time_files.append(results_io.vot_time_path(folder, seq.name, run.start))
    result = evaluate_vot(truth, predictions)
    metrics = {"eao": result.eao, "accuracy": result.accuracy, "robustness": result.robustness,
               **speed_metrics(time_files)}
    return ScoredRun(run_label(folder), folder, metrics, eao_curve=result.eao_curve)


def score_folder(folder: str | Path, dataset, kind: str) -> ScoredRun:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"result folder {str(folder)!r} does not exist")
    if kind in VOT_KINDS:
        return score_vot_folder(folder, dataset)
    return score_box_folder(folder, dataset, kind)


def format_table(runs: list[ScoredRun]) -> str:
    """A Markdown table (readable in a terminal, pasteable into docs)."""
    if not runs:
        return ""
    columns = list(runs[0].metrics)
    header = "| Tracker | " + " | ".join(columns) + " |"
    rule = "|---|" + "|".join("---:" for _ in columns) + "|"
    lines = [header, rule]
    for run in runs:
        cells = []
        for column in columns:
            value = run.metrics.get(column, math.nan)
            cells.append("n/a" if not math.isfinite(value) else
                         (f"{value:.1f}" if column == "fps" else f"{value:.3f}"))
        lines.append(f"| {run.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
