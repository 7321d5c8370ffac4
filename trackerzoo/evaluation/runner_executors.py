"""Where evaluation jobs run: in this process, in local worker processes, or on Ray.

An executor has one method, ``run(fn, context, jobs, on_frames=None)``, yielding each
job's result as it finishes (in completion order, for the progress bar); while jobs
run, ``on_frames(job, n)`` is called in this process with the frames they tracked
(inline: directly; local processes: sent over a queue; Ray: not reported, the bar
moves by a job's frames when its task finishes).

Local workers write their result files themselves. A Ray task only tracks
(``runner.track_job``) and returns the predictions; the driver writes them with the
same writer (``runner.write_job_output``), so ``--out`` lives on the driver alone. The
dataset root must be readable on every node (a shared file system) unless the driver
ships each sequence's frames to its task (``ship_frames``); a task that cannot read it
fails with ``DatasetNotReadableError`` naming the node and the path.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import math
import multiprocessing
import os
import queue as queue_module
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trackerzoo.evaluation.runner import (
    FrameCallback,
    Job,
    JobOutput,
    JobResult,
    RunContext,
    configure_worker,
    load_cached_dataset,
    run_job,
    run_job_in_worker,
    track_job,
    write_job_output,
)

EXECUTORS = ("local", "ray")
JobFunction = Callable[..., JobResult]  # fn(context, job[, on_frames]) -> JobResult
POLL_SECONDS = 0.2  # how often the local pool's progress queue is read while jobs run


class Executor(Protocol):
    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job],
            on_frames: FrameCallback | None = None) -> Iterator[JobResult]: ...


class InlineExecutor:
    """Jobs one after another in this process (``--workers 1``; easiest to debug)."""

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job],
            on_frames: FrameCallback | None = None) -> Iterator[JobResult]:
        configure_worker(context.threads)
        for job in jobs:
            yield fn(context, job) if on_frames is None else fn(context, job, on_frames)


def _drain(frames: Any, on_frames: FrameCallback) -> None:
    """Pass every queued ``(job, n)`` progress report to ``on_frames``."""
    while True:
        try:
            job, count = frames.get_nowait()
        except queue_module.Empty:
            return
        on_frames(job, count)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_SECONDS = 1.0


def die_with_parent(parent_pid: int) -> None:
    """End this (worker) process as soon as the process ``parent_pid`` is gone.

    On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` kills the worker
    when its parent exits, however the parent died (even by ``SIGKILL``). Elsewhere a
    daemon thread polls ``os.getppid()`` every ``PARENT_POLL_SECONDS`` s. Either way a
    parent that died before this call is noticed at once. Workers write result files
    atomically, so being killed mid-job leaves nothing half-written.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:  # the parent died before we were armed
        os._exit(1)
    if armed:
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="trackerzoo-parent-watch", daemon=True).start()


def start_worker(threads: int, parent_pid: int, frame_queue: Any = None) -> None:
    """Initializer of a local worker process: die with the parent, then ``configure_worker``."""
    die_with_parent(parent_pid)
    configure_worker(threads, frame_queue)


class LocalProcessExecutor:
    """A pool of ``workers`` spawned processes, which die with the process that started them.

    ``spawn`` rather than ``fork``: forking a process that has started OpenCV or torch
    threads can deadlock the child.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"number of workers must be >= 1, got {workers}")
        self.workers = workers

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job],
            on_frames: FrameCallback | None = None) -> Iterator[JobResult]:
        if not jobs:
            return
        spawn = multiprocessing.get_context("spawn")
        # Progress reports need the runner's own job function (it knows the worker's queue).
        frames = spawn.Queue() if on_frames is not None and fn is run_job else None
        pool = concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=spawn, initializer=start_worker,
            initargs=(context.threads, os.getpid(), frames))
        try:
            function = run_job_in_worker if frames is not None else fn
            pending = {pool.submit(function, context, job) for job in jobs}
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=POLL_SECONDS,
                                                        return_when=concurrent.futures.FIRST_COMPLETED)
                if frames is not None and on_frames is not None:
                    _drain(frames, on_frames)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if frames is not None:
                frames.close()
                frames.join_thread()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs the 'ray' package: pip install 'ray[default]' "
                         "(and a cluster address in RAY_ADDRESS, or none for a local Ray instance)") from None
    return ray


class DatasetNotReadableError(ValueError):
    """A Ray task could not read the dataset root on the node it ran on."""


class ShippedFrames:
    """A sequence's decoded frames sent by the driver (``--ship-frames``); ``read`` returns a copy.

    Ray hands numpy arrays to a task read-only and shared; the copy keeps trackers that
    draw on their input frame working.
    """

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        self._frames = list(frames)

    def __len__(self) -> int:
        return len(self._frames)

    def read(self, index: int) -> np.ndarray:
        return np.array(self._frames[index], copy=True)


def ship_sequence(sequence: Any) -> Any:
    """An in-memory copy of a dataset sequence with what a job reads from it.

    Every frame decoded (RGB uint8 ``(H, W, 3)``), the boxes ``[T, 4]``, the VOT regions
    and anchors when there are any, and the mask of frame 0 (the only one a job reads: a
    mask tracker starts from it). Costs ``T * H * W * 3`` bytes of driver memory while the
    sequence is in flight.
    """
    from trackerzoo.datasets.sequence import Sequence as DatasetSequence

    masks = None
    if sequence.has_masks:
        masks = [sequence.mask(0)] + [None] * (len(sequence) - 1)
    return DatasetSequence(sequence.name, ShippedFrames([sequence.frame(i) for i in range(len(sequence))]),
                           np.array(sequence.boxes, dtype=np.float64), masks=masks,
                           anchors=sequence.anchors, regions=sequence.regions,
                           attributes=dict(sequence.attributes))


def describe_node(ray: Any) -> str:
    """``host (node <id>, <ip>)`` of the Ray node this process runs on, for messages."""
    node = ray.get_runtime_context().get_node_id()
    return f"{socket.gethostname()} (Ray node {node}, {ray.util.get_node_ip_address()})"


def _open_dataset_on_node(context: RunContext, job: Job) -> Any:
    """The job's sequence read from the dataset root on this node, or ``DatasetNotReadableError``."""
    import ray

    root = Path(context.root)
    hint = ("the dataset root must be readable at the same path on every Ray node (a shared file "
            "system), or pass --ship-frames to send the frames from the driver")
    if not root.exists():
        raise DatasetNotReadableError(f"dataset root {str(root)!r} does not exist on {describe_node(ray)}: {hint}")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DatasetNotReadableError(f"dataset root {str(root)!r} is not readable on {describe_node(ray)}: {hint}")
    try:
        return load_cached_dataset(context.kind, context.root, context.dataset_options)[job.sequence]
    except OSError as exc:
        raise DatasetNotReadableError(f"cannot read the dataset root {str(root)!r} on {describe_node(ray)} "
                                      f"({type(exc).__name__}: {exc}): {hint}") from None


def ray_track_task(context: RunContext, job: Job, shipped: Any = None) -> tuple[JobOutput, str]:
    """The body of a Ray task: track one job and return its output and the node id; writes nothing.

    ``shipped`` is the sequence sent by the driver (``ship_sequence``), or ``None`` to read
    it from the dataset root on this node.
    """
    import ray

    configure_worker(context.threads)
    sequence = shipped if shipped is not None else _open_dataset_on_node(context, job)
    return track_job(context, job, sequence=sequence), ray.get_runtime_context().get_node_id()


def _function_task(fn: JobFunction, context: RunContext, job: Job) -> JobResult:
    configure_worker(context.threads)
    return fn(context, job)


def _check_resource(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if value > 1 and not value.is_integer():
        raise ValueError(f"{name} must be a fraction below 1 or a whole number (Ray's rule), got {value!r}")
    return value


class RayExecutor:
    """Each job is a Ray task; the driver (this process) writes every result file.

    ``address``: the cluster to join (``host:port`` of its head, or ``auto``); ``None``
    uses ``RAY_ADDRESS`` when set, else starts a local Ray instance. ``cpus`` and
    ``gpus`` are each task's ``num_cpus``/``num_gpus`` (a fraction of a GPU lets several
    trackers share one; Ray hides GPUs from tasks that ask for none). ``ship_frames``
    sends each sequence's decoded frames from the driver instead of letting tasks read the
    dataset root. At most ``2 x`` the tasks the cluster can run at once are in flight, so
    shipped frames do not pile up in memory. Raises ``ValueError`` for bad resources.
    """

    def __init__(self, address: str | None = None, *, cpus: float = 1.0, gpus: float = 0.0,
                 ship_frames: bool = False) -> None:
        self.cpus = _check_resource("--ray-cpus", cpus)
        self.gpus = _check_resource("--ray-gpus", gpus)
        if self.cpus == 0 and self.gpus == 0:
            raise ValueError("a Ray task needs --ray-cpus or --ray-gpus above 0, got both 0")
        self.ray = _import_ray()
        self.address = address
        self.ship_frames = ship_frames

    def _in_flight(self) -> int:
        resources = self.ray.cluster_resources()
        slots = [resources.get(key, 0.0) / need for key, need in (("CPU", self.cpus), ("GPU", self.gpus)) if need]
        return max(1, 2 * int(min(slots)))

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job],
            on_frames: FrameCallback | None = None) -> Iterator[JobResult]:
        """Yield each job's result as its task finishes; ``fn is run_job`` writes on the driver.

        Any other ``fn(context, job)`` runs as the task itself and writes where it writes.
        A task that cannot read the dataset raises ``DatasetNotReadableError`` here.
        """
        if not jobs:
            return
        ray = self.ray
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False)
            except ConnectionError as exc:
                where = self.address or os.environ.get("RAY_ADDRESS") or "a local Ray instance"
                raise ValueError(f"cannot reach the Ray cluster at {where!r}: {exc}") from None
        options = {"num_cpus": self.cpus, "num_gpus": self.gpus}
        tracking = fn is run_job
        remote = ray.remote(ray_track_task if tracking else _function_task).options(**options)
        if tracking and self.ship_frames:
            load_cached_dataset(context.kind, context.root, context.dataset_options)  # the driver reads the dataset
        waiting = list(jobs)
        unsent = {}  # sequence name -> jobs not submitted yet (its shipped frames stay alive till then)
        for job in waiting:
            unsent[job.sequence] = unsent.get(job.sequence, 0) + 1
        shipped: dict[str, Any] = {}
        running: dict[Any, Job] = {}
        limit = self._in_flight()
        try:
            while waiting or running:
                while waiting and len(running) < limit:
                    job = waiting.pop(0)
                    if not tracking:
                        running[remote.remote(fn, context, job)] = job
                        continue
                    frames = None
                    if self.ship_frames:
                        if job.sequence not in shipped:
                            dataset = load_cached_dataset(context.kind, context.root, context.dataset_options)
                            shipped[job.sequence] = ray.put(ship_sequence(dataset[job.sequence]))
                        frames = shipped[job.sequence]
                        unsent[job.sequence] -= 1
                        if not unsent[job.sequence]:
                            del shipped[job.sequence]  # the submitted tasks hold it now
                    running[remote.remote(context, job, frames)] = job
                finished, _ = ray.wait(list(running), num_returns=1)
                for reference in finished:
                    running.pop(reference)
                    yield self._collect(reference, context, tracking)
        finally:
            for reference in running:
                ray.cancel(reference)

    def _collect(self, reference: Any, context: RunContext, tracking: bool) -> JobResult:
        try:
            value = self.ray.get(reference)
        except self.ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, DatasetNotReadableError):
                raise DatasetNotReadableError(str(exc.cause)) from None
            raise
        if not tracking:
            return value
        output, node = value
        write_job_output(context.out, output)
        return JobResult(output.job, output.seconds, node)


def make_executor(name: str, workers: int = 1, *, ray_address: str | None = None, ray_cpus: float = 1.0,
                  ray_gpus: float = 0.0, ship_frames: bool = False) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``); the ``ray_*`` options are Ray's only.

    Raises ``ValueError`` for an unknown name, ``workers < 1``, or Ray options given to
    the local executor.
    """
    if name == "local":
        if ray_address is not None or ray_cpus != 1.0 or ray_gpus != 0.0 or ship_frames:
            raise ValueError("--ray-address, --ray-cpus, --ray-gpus and --ship-frames need --executor ray")
        return InlineExecutor() if workers == 1 else LocalProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(ray_address, cpus=ray_cpus, gpus=ray_gpus, ship_frames=ship_frames)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
