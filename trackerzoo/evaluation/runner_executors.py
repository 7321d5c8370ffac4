"""Where evaluation jobs run: in this process, in local worker processes, or on Ray.

An executor has one method, ``run(fn, context, jobs)``, yielding each job's result as
it finishes (in completion order, for the progress bar). Workers write their result
files themselves, so with Ray the output folder must be on a file system every node
sees (the usual setup for a Ray cluster evaluating a shared dataset).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from trackerzoo.evaluation.runner import Job, JobResult, RunContext, configure_worker

EXECUTORS = ("local", "ray")
JobFunction = Callable[[RunContext, Job], JobResult]


class Executor(Protocol):
    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job]) -> Iterator[JobResult]: ...


class InlineExecutor:
    """Jobs one after another in this process (``--workers 1``; easiest to debug)."""

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job]) -> Iterator[JobResult]:
        configure_worker(context.threads)
        for job in jobs:
            yield fn(context, job)


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


def start_worker(threads: int, parent_pid: int) -> None:
    """Initializer of a local worker process: die with the parent, then pin its threads."""
    die_with_parent(parent_pid)
    configure_worker(threads)


class LocalProcessExecutor:
    """A pool of ``workers`` spawned processes, which die with the process that started them.

    ``spawn`` rather than ``fork``: forking a process that has started OpenCV or torch
    threads can deadlock the child.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"number of workers must be >= 1, got {workers}")
        self.workers = workers

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job]) -> Iterator[JobResult]:
        if not jobs:
            return
        pool = concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker, initargs=(context.threads, os.getpid()))
        try:
            futures = [pool.submit(fn, context, job) for job in jobs]
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


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

    def run(self, fn: JobFunction, context: RunContext, jobs: Sequence[Job]) -> Iterator[JobResult]:
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
