"""Where evaluation jobs run: in this process, in local worker processes, or on Ray.

An executor has one method, ``run(fn, context, jobs, on_frames=None)``, yielding each
job's result as it finishes (in completion order, for the progress bar); while jobs
run, ``on_frames(job, n)`` is called in this process with the frames they tracked
(inline: directly; local processes: sent over a queue; Ray: not reported, the bar
moves when a job completes). Workers write their result
files themselves, so with Ray the output folder must be on a file system every node
sees (the usual setup for a Ray cluster evaluating a shared dataset).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from trackerzoo.evaluation.runner import (
    FrameCallback,
    Job,
    JobResult,
    RunContext,
    configure_worker,
    run_job,
    run_job_in_worker,
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


class RayExecutor:
    """Each job is a Ray task (one CPU each); connects to ``RAY_ADDRESS`` or starts Ray locally."""

    def __init__(self, address: str | None = None) -> None:
        self.ray = _import_ray()
        self.address = address

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job],
            on_frames: FrameCallback | None = None) -> Iterator[JobResult]:
        ray = self.ray
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False)

        def task(ctx: RunContext, job: Job) -> JobResult:
            configure_worker(ctx.threads)
            return fn(ctx, job)

        remote = ray.remote(num_cpus=1)(task)
        pending = [remote.remote(context, job) for job in jobs]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            for reference in finished:
                yield ray.get(reference)


def make_executor(name: str, workers: int = 1) -> Executor:
    if name == "local":
        return InlineExecutor() if workers == 1 else LocalProcessExecutor(workers)
    if name == "ray":
        return RayExecutor()
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
