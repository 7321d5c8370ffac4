"""Running a tracker over a dataset: one job per sequence (VOT: per anchor run).

Each job writes its result file and its per-frame times atomically (temporary file +
``os.replace``, via ``results_io``), times first and result last, so the result
file's existence means the job is complete. A rerun of the same command skips
completed jobs: an interrupted evaluation resumes and never trusts a partial file.

Jobs are independent and only need the dataset (``kind``, ``root``) and the tracker
(name and parameters), so they can run in local processes or as Ray tasks
(``runner_executors``) with the same code. A job is two steps: ``track_job`` computes
the predictions (a ``JobOutput``: boxes or VOT region lines, per-frame times) and
``write_job_output`` writes them; local workers do both, a Ray task only the first and
the driver writes what it returns, so ``--out`` never needs to be visible to the nodes.

Progress is counted in frames while a job runs: a job reports the frames it has
tracked every ``PROGRESS_INTERVAL`` seconds through a ``FrameCallback`` (inline runs
call it directly; worker processes send the counts over a queue), and the bar is
topped up to the job's frame count when the job completes.

Protocols: datasets of kind ``vot`` use the VOT anchor protocol (one run per anchor,
region lines); every other kind runs one pass from frame 0, initialised with the
ground-truth box of frame 0 (and its mask, for mask trackers, when the dataset has
masks), and writes ``<out>/<seq>.txt`` plus ``<out>/<seq>_time.txt``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import trackerzoo
from trackerzoo import Prediction, Tracker
from trackerzoo.formats import results_io
from trackerzoo.formats.regions import (
    INITIALIZATION,
    UNKNOWN,
    Mask,
    Rectangle,
    Region,
    format_region,
    rasterize,
    region_to_box,
    rotated_box_polygon,
)
from trackerzoo.session import run_ope_full, run_tracker

RUN_RECORD = "run.json"
VOT_REGIONS = ("auto", "rectangle", "rotated")  # what a VOT result line holds (``vot_region``)
VOT_KINDS = frozenset({"vot"})
PROGRESS_INTERVAL = 0.2  # seconds between a running job's frame-count reports


def parse_dataset_spec(text: str) -> tuple[str, Path]:
    """``<kind>:<root>`` -> (kind, root)."""
    kind, sep, root = text.partition(":")
    if not sep or not kind or not root:
        raise ValueError(f"--dataset must be <kind>:<root>, e.g. synthetic:/data/zoo-synth-val; got {text!r}")
    return kind.lower(), Path(root)


@dataclass(frozen=True)
class TrackerSpec:
    """How a worker builds the tracker: a registered name, or ``module:Class``."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None
    weights: str | None = "default"
    device: str = "auto"

    def build(self) -> Tracker:
        """The tracker, built by ``trackerzoo.create`` (parameter validation and device check included).

        ``threads=None``: the worker's thread count (``configure_worker``) stays as the run set it.
        """
        return trackerzoo.create(self.name, variant=self.variant, weights=self.weights, device=self.device,
                                 threads=None, **self.params)


@dataclass(frozen=True)
class RunContext:
    """Everything a job needs besides its own sequence/anchor; picklable."""

    tracker: TrackerSpec
    kind: str
    root: str
    out: str
    threads: int = 1
    dataset_options: tuple[tuple[str, Any], ...] = ()  # loader options (``--dataset-option``), sorted pairs
    batch: int = 1  # sequences per batched tracker (``--batch``; ``runner_batch``); 1: one tracker per job
    vot_region: str = "auto"  # VOT result region (``--vot-region``, one of ``VOT_REGIONS``)

    def __post_init__(self) -> None:
        if self.vot_region not in VOT_REGIONS:
            raise ValueError(f"unknown VOT region {self.vot_region!r}; expected one of {', '.join(VOT_REGIONS)}")
        if self.vot_region != "auto" and self.protocol != "vot":
            raise ValueError(f"--vot-region {self.vot_region} applies to VOT-layout datasets only; "
                             f"{self.kind!r} is scored as OPE from boxes")

    @property
    def protocol(self) -> str:
        return "vot" if self.kind in VOT_KINDS else "ope"


@dataclass(frozen=True)
class Job:
    sequence: str
    frames: int  # frames the tracker will see (progress accounting)
    anchor: int | None = None  # VOT: the anchor frame that starts this run
    reverse: bool = False

    def result_path(self, out: str | os.PathLike) -> Path:
        if self.anchor is None:
            return results_io.box_result_path(out, self.sequence)
        return results_io.vot_result_path(out, self.sequence, self.anchor)

    def time_path(self, out: str | os.PathLike) -> Path:
        if self.anchor is None:
            return results_io.box_time_path(out, self.sequence)
        return results_io.vot_time_path(out, self.sequence, self.anchor)


@dataclass(frozen=True)
class JobResult:
    job: Job
    seconds: float
    node: str | None = None  # the Ray node id that ran the job (None for local runs)


@dataclass(frozen=True)
class JobOutput:
    """A job's predictions, as a Ray task returns them to the driver (picklable, compact).

    ``times``: seconds per tracked frame. OPE jobs have ``boxes`` (float64 ``[T, 4]``,
    ``x, y, w, h`` pixels, row 0 the ground truth); VOT jobs have ``regions``, one region
    line per frame as ``format_region`` writes it (``1`` first, masks in their ``m...``
    RLE form), so a mask costs its run lengths rather than a full ``(H, W)`` array.
    ``seconds`` is the job's wall time. OPE jobs also carry ``present`` (``Prediction.present``
    per frame, frame 0 True) and ``confidence`` (``Prediction.score``, frame 0 NaN), written
    as ``<seq>_present.value`` and ``<seq>_confidence.value`` (``results_io``).
    """

    job: Job
    times: tuple[float, ...]
    seconds: float
    boxes: np.ndarray | None = None
    regions: tuple[str, ...] | None = None
    present: tuple[bool, ...] | None = None
    confidence: tuple[float, ...] | None = None


def write_job_output(out: str | os.PathLike, output: JobOutput) -> None:
    """Write a job's files into ``out`` atomically: the times first, the result last.

    The one writer of job results, for workers that write themselves (local processes)
    and for the Ray driver alike. Raises ``ValueError`` when the output has neither or
    both of ``boxes`` and ``regions``.
    """
    job = output.job
    if (output.boxes is None) == (output.regions is None):
        raise ValueError(f"the output of job {job!r} must have exactly one of boxes and regions")
    results_io.write_times(job.time_path(out), output.times)
    if output.present is not None and job.anchor is None:
        results_io.write_presence(results_io.presence_path(out, job.sequence), output.present)
        confidence = output.confidence if output.confidence is not None else [math.nan] * len(output.present)
        results_io.write_values(results_io.confidence_path(out, job.sequence), confidence)
    if output.boxes is not None:
        results_io.write_box_file(job.result_path(out), output.boxes)
    else:
        results_io.write_region_lines(job.result_path(out), output.regions or ())


# --------------------------------------------------------------------------- workers

_datasets: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Any] = {}

# ``(job, frames tracked since the last report)``; called in the process running the job.
FrameCallback = Callable[[Job, int], None]
_worker_frame_callback: FrameCallback | None = None  # set in worker processes by ``configure_worker``


def load_cached_dataset(kind: str, root: str, options: tuple[tuple[str, Any], ...] = ()):
    """One dataset listing per worker process, reused across its jobs; ``options`` go to the loader."""
    key = (kind, root, tuple(options))
    if key not in _datasets:
        from trackerzoo.datasets import load_dataset

        _datasets[key] = load_dataset(kind, root, **dict(options))
    return _datasets[key]


def _queue_reporter(queue: Any) -> FrameCallback:
    def report(job: Job, frames: int) -> None:
        queue.put((job, frames))

    return report


def configure_worker(threads: int, frame_queue: Any = None) -> None:
    """Pin each worker to ``threads`` threads so N workers do not oversubscribe the CPU.

    ``frame_queue`` (a multiprocessing queue) receives ``(job, frames)`` progress reports
    of the jobs this process runs through ``run_job_in_worker``.
    """
    import cv2
    import torch

    global _worker_frame_callback
    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)
    _worker_frame_callback = None if frame_queue is None else _queue_reporter(frame_queue)


class FrameCounter:
    """Counts tracked frames of one job and reports them at most every ``interval`` seconds."""

    def __init__(self, job: Job, callback: FrameCallback | None, interval: float | None = None) -> None:
        self.job = job
        self.callback = callback
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.pending = 0
        self.last = time.monotonic()

    def tick(self, frames: int = 1) -> None:
        if self.callback is None:
            return
        self.pending += frames
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.callback(self.job, self.pending)
            self.pending, self.last = 0, now


class _CountedSequence:
    """A dataset sequence whose ``frame(i)`` reads tick a ``FrameCounter`` (everything else delegated)."""

    def __init__(self, sequence: Any, counter: FrameCounter) -> None:
        self._sequence = sequence
        self._counter = counter

    def __len__(self) -> int:
        return len(self._sequence)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sequence, name)

    def frame(self, index: int) -> np.ndarray:
        image = self._sequence.frame(index)
        self._counter.tick()
        return image


def _box_of_region(region: Region) -> tuple[float, float, float, float]:
    box = region_to_box(region)
    if not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"initialisation region {region!r} is empty")
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _run_vot(tracker: Tracker, sequence, job: Job, counter: FrameCounter | None = None,
             region: str = "auto") -> tuple[list[Region], list[float]]:
    """One VOT anchor run: region per frame (``INITIALIZATION`` first) and per-frame seconds.

    Frames go from the anchor to the end, or back to frame 0 for a backward anchor;
    mask trackers start from the anchor's region rasterised when it is a mask. ``region``
    chooses what each frame is written as (``vot_region``).
    """
    order = vot_frame_order(sequence, job)
    image = sequence.frame(order[0])
    init_box, init_mask = vot_target(sequence, job, image, tracker.accepts_mask)
    frames = itertools.chain([image], (sequence.frame(index) for index in order[1:]))
    steps = run_tracker(tracker, frames, init_box=init_box, init_mask=init_mask)
    output: list[Region] = []
    times: list[float] = []
    for step in steps:
        times.append(step.seconds)
        if counter is not None:
            counter.tick()
        output.append(INITIALIZATION if step.index == 0 else vot_region(step.prediction, region))
    return output, times


def vot_frame_order(sequence, job: Job) -> list[int]:
    """Frame indices of a VOT anchor run: from the anchor to the end, or back to frame 0."""
    return list(range(job.anchor, -1, -1)) if job.reverse else list(range(job.anchor, len(sequence)))


def vot_target(sequence, job: Job, first_frame: np.ndarray,
               accepts_mask: bool) -> tuple[tuple[float, float, float, float] | None, np.ndarray | None]:
    """``(init_box, init_mask)`` of a VOT anchor run: the anchor's region, rasterised for mask trackers."""
    init = sequence.regions[job.anchor]
    if accepts_mask and isinstance(init, Mask):
        height, width = first_frame.shape[:2]
        return None, rasterize(init, width, height)
    return _box_of_region(init), None


def vot_region(prediction: Prediction, region: str = "auto") -> Region:
    """The region a prediction is written as in a VOT result file.

    ``region``: ``"auto"`` writes the mask when the prediction has one, else the box;
    ``"rectangle"`` always the axis-aligned box ``(x, y, w, h)``; ``"rotated"`` the rotated
    box as a four-corner polygon (VOT2016-2019's region), falling back to the axis-aligned
    box on a frame without a finite rotated box (a box-only tracker, an empty mask), so the
    overlap of the rotated box is scored against the same ground truth as the mask.
    Raises ``ValueError`` for any other ``region``.
    """
    if region not in VOT_REGIONS:
        raise ValueError(f"unknown VOT region {region!r}; expected one of {', '.join(VOT_REGIONS)}")
    if region == "auto" and prediction.mask is not None:
        return Mask(np.asarray(prediction.mask, dtype=bool))
    polygon = rotated_box_polygon(prediction.rotated_box) if region == "rotated" else None
    if polygon is not None:
        return polygon
    return Rectangle(*prediction.box)


def vot_lt_region(prediction: Prediction) -> Region:
    """The region of a prediction in a VOT long-term run: ``0`` (empty) when the target is reported absent."""
    return vot_region(prediction) if prediction.present else UNKNOWN


def track_job(context: RunContext, job: Job, on_frames: FrameCallback | None = None,
              sequence: Any = None) -> JobOutput:
    """Track one sequence (or one VOT anchor run) and return its predictions; writes nothing.

    ``sequence`` is the dataset sequence to track (``None``: loaded from ``context``'s
    dataset, i.e. from its root); ``on_frames(job, n)`` receives the frames tracked so far
    in batches (progress). A tracker failure is raised as ``RuntimeError`` naming the job.
    """
    if sequence is None:
        sequence = load_cached_dataset(context.kind, context.root, context.dataset_options)[job.sequence]
    tracker = context.tracker.build()
    counter = FrameCounter(job, on_frames)
    started = time.perf_counter()
    try:
        if job.anchor is None:
            run = run_ope_full(tracker, sequence if on_frames is None else _CountedSequence(sequence, counter))
            return JobOutput(job, tuple(run.seconds), time.perf_counter() - started, boxes=run.boxes,
                             present=tuple(bool(v) for v in run.present),
                             confidence=tuple(float(v) for v in run.confidence))
        regions, times = _run_vot(tracker, sequence, job, counter, context.vot_region)
        return JobOutput(job, tuple(times), time.perf_counter() - started,
                         regions=tuple(format_region(region) for region in regions))
    except Exception as exc:
        raise RuntimeError(f"tracking sequence {job.sequence!r}"
                           f"{'' if job.anchor is None else f' (anchor {job.anchor})'} failed: "
                           f"{type(exc).__name__}: {exc}") from exc


def run_job(context: RunContext, job: Job, on_frames: FrameCallback | None = None) -> JobResult:
    """Track one sequence (or one VOT anchor run) and write its files atomically into ``context.out``.

    ``on_frames(job, n)`` receives the frames tracked so far in batches (progress).
    """
    output = track_job(context, job, on_frames)
    write_job_output(context.out, output)
    return JobResult(job, output.seconds)


def run_job_in_worker(context: RunContext, job: Job) -> JobResult:
    """``run_job`` in a worker process, reporting progress to the queue ``configure_worker`` got."""
    return run_job(context, job, _worker_frame_callback)


# --------------------------------------------------------------------------- planning

def plan_jobs(context: RunContext, dataset, names: Iterable[str] | None = None) -> list[Job]:
    """All jobs of the evaluation, longest first (keeps workers busy to the end)."""
    from trackerzoo.evaluation.vot import sequence_anchor_runs

    sequences = [dataset[name] for name in names] if names else list(dataset)
    jobs: list[Job] = []
    for sequence in sequences:
        length = len(sequence)
        if context.protocol == "vot":
            for run in sequence_anchor_runs(sequence):
                frames = run.start + 1 if run.reverse else length - run.start
                jobs.append(Job(sequence.name, frames, run.start, run.reverse))
        else:
            jobs.append(Job(sequence.name, length))
    return sorted(jobs, key=lambda j: -j.frames)


def remove_stale_temporaries(out: Path) -> int:
    """Delete temporary files an interrupted run left behind (never complete results)."""
    removed = 0
    for path in out.rglob(".*.tmp"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def check_run_record(context: RunContext, out: Path) -> None:
    """Refuse to mix results of different trackers or datasets in one folder."""
    record = {"tracker": context.tracker.name, "params": context.tracker.params,
              "variant": context.tracker.variant, "weights": context.tracker.weights,
              "dataset": f"{context.kind}:{Path(context.root).resolve()}", "protocol": context.protocol}
    if context.vot_region != "auto":  # likewise: only when it is not the default
        record["vot_region"] = context.vot_region
    if context.dataset_options:  # recorded only when given, so folders of earlier versions still match
        record["dataset_options"] = json.loads(json.dumps(dict(context.dataset_options)))  # as read back
    path = out / RUN_RECORD
    if path.is_file():
        previous = json.loads(path.read_text())
        if previous != record:
            changed = sorted(k for k in record if previous.get(k) != record[k])
            raise ValueError(f"{str(out)!r} holds results of a different run (differs in {', '.join(changed)}); "
                             "use another --out")
        return
    results_io.write_text_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def check_output_folder(out: Path) -> None:
    """Refuse an ``out`` that is a file (or lies below one); nothing is created."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"--out {str(out)!r}: {str(folder)!r} is a file, not a folder")
            return


def make_output_folder(out: Path) -> None:
    """Create ``out`` and prove it writable; any ``OSError`` becomes a one-line ``ValueError``."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=out)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"--out {str(out)!r} cannot be written: {exc.strerror or exc}") from None


def run_evaluation(context: RunContext, executor, *, names: Iterable[str] | None = None,
                   progress: bool = True) -> list[JobResult]:
    """Run every job not finished yet; returns the results of the jobs run now.

    Everything that can be refused is checked before ``out`` is touched: ``out`` must not
    be a file, the dataset must load (its sequence names safe to use as file names), and
    the tracker must build with its parameters. Only then is ``out`` created, shown to be
    writable, and ``run.json`` written, so a typo never leaves a folder locked to a run
    that could not start.

    With ``context.batch`` > 1 the pending jobs are dealt into one group per worker of
    ``executor`` (its ``workers``, else one) and each group runs through one batched
    tracker (``runner_batch.run_job_group``); the files are those of the unbatched run.
    """
    out = Path(context.out)
    check_output_folder(out)
    dataset = load_cached_dataset(context.kind, context.root, context.dataset_options)
    jobs = plan_jobs(context, dataset, names)
    for job in jobs:  # a name an in-memory loader did not check is refused here, before any write
        job.result_path(out)
        job.time_path(out)
    context.tracker.build()  # unknown tracker, variant, parameter or weights: fail in this process
    make_output_folder(out)
    check_run_record(context, out)
    remove_stale_temporaries(out)
    pending = [job for job in jobs if not job.result_path(out).is_file()]
    from tqdm import tqdm

    done_frames = sum(job.frames for job in jobs) - sum(job.frames for job in pending)
    bar = tqdm(total=sum(job.frames for job in jobs), initial=done_frames, unit="frame", disable=not progress,
               desc=f"{context.tracker.name} on {dataset.name}", smoothing=0.05)
    results = []
    reported: dict[Job, int] = {}  # frames shown so far per job
    finished: set[Job] = set()

    def on_frames(job: Job, frames: int) -> None:
        if job in finished:  # a report that arrived after its job's result: already counted
            return
        frames = min(frames, job.frames - reported.get(job, 0))  # never past the job's total
        reported[job] = reported.get(job, 0) + frames
        bar.update(frames)

    function: Any = run_job
    units: list[Any] = pending
    if context.batch > 1:  # groups of jobs, each through one batched tracker: one group per worker
        from trackerzoo.evaluation.runner_batch import group_jobs, run_job_group

        function, units = run_job_group, group_jobs(pending, max(1, int(getattr(executor, "workers", 1))))
    try:
        for result in executor.run(function, context, units, on_frames):
            results.extend(getattr(result, "results", (result,)))
            finished.add(result.job)
            bar.update(result.job.frames - reported.pop(result.job, 0))
    finally:
        bar.close()
    return results
