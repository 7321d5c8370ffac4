"""Evaluation jobs fed through one batched tracker (``trackerzoo eval --batch N``).

A ``JobGroup`` is a list of ordinary jobs (sequences, or VOT anchor runs) that one
worker runs through ``trackerzoo.create_batch(tracker, N)``: each of the ``N`` slots
takes the next job of the group, and when a job's frames end its files are written
(as ``run_job`` writes them) and the slot takes the next job, until the group is done.
Results equal the unbatched run's, since a batched tracker equals ``N`` single ones.

Times: a slot's ``initialize`` is timed alone; a ``track`` step over ``B`` active slots
is shared equally, each frame getting ``step seconds / B`` (the cost per frame that
batching achieves), so the fps that ``eval`` reports is the aggregate rate per sequence.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

import trackerzoo
from trackerzoo.evaluation.runner import (
    FrameCallback,
    FrameCounter,
    Job,
    JobOutput,
    JobResult,
    RunContext,
    load_cached_dataset,
    vot_frame_order,
    vot_region,
    vot_target,
    write_job_output,
)
from trackerzoo.formats.regions import INITIALIZATION, Region, format_region
from trackerzoo.session import ope_target


@dataclass(frozen=True)
class JobGroup:
    """Jobs one batched tracker runs, longest first; ``frames`` counts all their frames (progress)."""

    jobs: tuple[Job, ...]

    @property
    def frames(self) -> int:
        return sum(job.frames for job in self.jobs)


@dataclass(frozen=True)
class GroupResult:
    """What ``run_job_group`` returns: the group (as ``job``, for the progress bar), its seconds, each job's result."""

    job: JobGroup
    seconds: float
    results: tuple[JobResult, ...]


def group_jobs(jobs: list[Job], groups: int) -> list[JobGroup]:
    """Deal ``jobs`` (longest first) to ``groups`` groups in turn, so each gets a similar share of frames.

    Empty groups are dropped. Raises ``ValueError`` for ``groups`` < 1.
    """
    if groups < 1:
        raise ValueError(f"number of job groups must be >= 1, got {groups}")
    ordered = sorted(jobs, key=lambda job: -job.frames)
    dealt = [tuple(ordered[start::groups]) for start in range(groups)]
    return [JobGroup(jobs) for jobs in dealt if jobs]


class _Run:
    """One job in a slot: its frame order, what it writes, and the outputs gathered so far."""

    def __init__(self, context: RunContext, job: Job, sequence: Any, accepts_mask: bool) -> None:
        self.job = job
        self.sequence = sequence
        self.vot = job.anchor is not None
        self.order = vot_frame_order(sequence, job) if self.vot else list(range(len(sequence)))
        self.first_frame = sequence.frame(self.order[0])
        if self.vot:
            self.first_box = None
            self.init_box, self.init_mask = vot_target(sequence, job, self.first_frame, accepts_mask)
        else:
            self.first_box, self.init_box, self.init_mask = ope_target(sequence, accepts_mask)
        self.out = context.out
        self.region = context.vot_region
        self.next = 1  # position in ``order`` of the next frame to track
        self.times: list[float] = []
        self.outputs: list[Any] = []  # OPE: boxes of frames 1..; VOT: regions of frames 1..
        self.present: list[bool] = []  # OPE: Prediction.present of frames 1..
        self.confidence: list[float] = []  # OPE: Prediction.score of frames 1..

    @property
    def done(self) -> bool:
        return self.next >= len(self.order)

    def next_frame(self) -> np.ndarray:
        frame = self.sequence.frame(self.order[self.next])
        self.next += 1
        return frame

    def record(self, prediction: trackerzoo.Prediction, seconds: float) -> None:
        self.times.append(seconds)
        self.outputs.append(vot_region(prediction, self.region) if self.vot else prediction.box)
        self.present.append(prediction.present)
        self.confidence.append(prediction.score)

    def write(self) -> JobResult:
        """The job's time and result files through ``write_job_output``, the runner's one writer."""
        if self.vot:
            regions: list[Region] = [INITIALIZATION, *self.outputs]
            output = JobOutput(self.job, tuple(self.times), float(sum(self.times)),
                               regions=tuple(format_region(region) for region in regions))
        else:
            boxes = np.full((len(self.order), 4), np.nan)
            boxes[0] = self.first_box
            for row, box in enumerate(self.outputs, start=1):
                boxes[row] = box
            output = JobOutput(self.job, tuple(self.times), float(sum(self.times)), boxes=boxes,
                               present=(True, *self.present), confidence=(float("nan"), *self.confidence))
        write_job_output(self.out, output)
        return JobResult(self.job, float(sum(self.times)))


def _start_next(context: RunContext, dataset: Any, batch: trackerzoo.BatchTracker, waiting: deque[Job],
                runs: list[_Run | None], slot: int, results: list[JobResult], counter: FrameCounter) -> None:
    """Start the next waiting job in ``slot`` (timing its ``initialize``), or leave the slot idle.

    A job of one frame has nothing to track: its files are written at once and the next job is taken.
    """
    runs[slot] = None
    while waiting:
        job = waiting.popleft()
        runs[slot] = _Run(context, job, dataset[job.sequence], batch.accepts_mask)
        run = runs[slot]
        started = time.perf_counter()
        batch.initialize_slot(slot, run.first_frame, box=run.init_box, mask=run.init_mask)
        run.times.append(time.perf_counter() - started)
        counter.tick()
        if not run.done:
            return
        results.append(run.write())
        runs[slot] = None
        batch.release(slot)


def _describe(runs: list[_Run | None]) -> str:
    return ", ".join(repr(run.job.sequence) + ("" if run.job.anchor is None else f" (anchor {run.job.anchor})")
                     for run in runs if run is not None)


def run_job_group(context: RunContext, group: JobGroup, on_frames: FrameCallback | None = None) -> GroupResult:
    """Track every job of ``group`` through one ``create_batch(tracker, context.batch)`` and write their files.

    ``on_frames(group, n)`` receives the frames tracked so far (progress). A failure names
    the jobs the batch held; the files of jobs finished before it stay written.
    """
    dataset = load_cached_dataset(context.kind, context.root, context.dataset_options)
    spec = context.tracker
    batch = trackerzoo.create_batch(spec.name, min(context.batch, len(group.jobs)), variant=spec.variant,
                                    weights=spec.weights, device=spec.device, **spec.params)
    counter = FrameCounter(group, on_frames)  # type: ignore[arg-type]  # a group reports as one job
    waiting = deque(group.jobs)
    runs: list[_Run | None] = [None] * batch.n
    results: list[JobResult] = []
    started = time.perf_counter()
    try:
        for slot in range(batch.n):
            _start_next(context, dataset, batch, waiting, runs, slot, results, counter)
        while any(run is not None for run in runs):
            frames = [run.next_frame() if run is not None else None for run in runs]
            active = sum(frame is not None for frame in frames)
            step = time.perf_counter()
            predictions = batch.track(frames)
            share = (time.perf_counter() - step) / active
            counter.tick(active)
            for slot, run in enumerate(runs):
                if run is None:
                    continue
                run.record(predictions[slot], share)
                if run.done:
                    results.append(run.write())
                    runs[slot] = None
                    batch.release(slot)
                    _start_next(context, dataset, batch, waiting, runs, slot, results, counter)
    except Exception as exc:
        raise RuntimeError(f"tracking sequences {_describe(runs)} in a batch of {batch.n} failed: "
                           f"{type(exc).__name__}: {exc}") from exc
    return GroupResult(group, time.perf_counter() - started, tuple(results))
