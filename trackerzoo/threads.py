"""Thread policy: how many intra-op threads a tracker uses, and how idle OpenMP threads wait.

Two things make a PyTorch tracker collapse on a shared or busy CPU (issue 19: 5-50x slower
with torch's default 2 threads than with 1 on a loaded 2-core machine):

- more intra-op threads than free cores: every parallel region ends at a barrier that
  waits for the thread the scheduler has put aside;
- OpenMP threads that *spin* at those barriers (the GNU runtime spins for a while before
  sleeping), taking the core from the very thread they wait for.

The policy here answers both. ``choose_threads`` picks the intra-op thread count from the
cores this process may run on (``os.sched_getaffinity``) minus the load the rest of the
machine puts on them (the 1-minute load average), never more than what torch already
uses. ``use_passive_waiting`` puts ``OMP_WAIT_POLICY=PASSIVE`` into the environment:
OpenMP reads it once, when its runtime starts, which is when ``torch`` is imported. So
``trackerzoo/__init__`` calls it before anything imports torch (the ``trackerzoo`` console
script imports the package first, so it is covered too). If the program imported torch
before trackerzoo, the runtime has already read its settings and the variable has no
effect on this process (it still reaches child processes); set ``OMP_WAIT_POLICY=PASSIVE``
in the shell, or import trackerzoo first. A value the user set is never overwritten.

The pure functions (``free_cores``, ``choose_threads``, ``validate_threads``) take their
inputs as arguments so that they can be tested without a loaded machine; ``apply_threads``
is the one that reads the machine and changes torch's (process-wide) thread count.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import MutableMapping
from typing import Literal

WAIT_POLICY_VARIABLE = "OMP_WAIT_POLICY"
PASSIVE = "PASSIVE"
# Upper bound of an explicit ``threads=``: far above any CPU this runs on, low enough to
# catch a slip (threads=10**6) before torch tries to start that many threads.
MAX_THREADS = 1024
# What this process itself adds to the load average while it asks: the thread that runs
# the policy is runnable. ``other_load`` takes it off so an idle machine keeps its cores.
OWN_LOAD = 1.0

ThreadsArg = int | Literal["auto"] | None


def use_passive_waiting(environ: MutableMapping[str, str] | None = None,
                        modules: dict[str, object] | None = None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is already set; True if it can take effect.

    ``environ`` defaults to ``os.environ`` and ``modules`` to ``sys.modules`` (arguments for
    tests). The return value is False when torch is already imported (its OpenMP runtime
    has read the environment: only child processes see the new value) or when the user
    chose another policy (e.g. ``ACTIVE``), which is kept.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    current = environ.get(WAIT_POLICY_VARIABLE)
    if current is None:
        environ[WAIT_POLICY_VARIABLE] = PASSIVE
    elif current.strip().upper() != PASSIVE:
        return False
    return "torch" not in modules


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), or ``os.cpu_count()`` where affinity is unknown."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), or None where the OS does not report it."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def other_load(load: float | None, own: float = OWN_LOAD) -> float | None:
    """The load of the other processes: ``load`` minus this process's ``own`` share, at least 0."""
    return None if load is None else max(0.0, load - own)


def free_cores(cores: int, load: float | None) -> int:
    """Cores left for this process: ``cores`` minus the rounded ``load``, at least 1, at most ``cores``.

    ``load`` is the machine's load average (None: unknown, all cores are taken as free).
    The load of the whole machine is compared with this process's cores, which over-counts
    the load when the process is pinned to a few cores of a big machine: the error errs on
    the side of fewer threads, which slows a tracker a little but never collapses it.
    Raises ``ValueError`` for ``cores`` < 1 or a negative or non-finite ``load``.
    """
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise ValueError(f"cores must be a positive integer, got {cores!r}")
    if load is None:
        return cores
    if not math.isfinite(load) or load < 0:
        raise ValueError(f"load must be a finite number >= 0, got {load!r}")
    return max(1, min(cores, cores - math.floor(load + 0.5)))


def choose_threads(cores: int, load: float | None, current: int) -> int:
    """The ``"auto"`` thread count: the free cores, never more than ``current`` (torch's count now).

    Never raising the count keeps a smaller choice of the user (``torch.set_num_threads``,
    ``OMP_NUM_THREADS``) and a count set for another tracker of the same process. Raises
    ``ValueError`` as ``free_cores`` does, and for ``current`` < 1.
    """
    if isinstance(current, bool) or not isinstance(current, int) or current < 1:
        raise ValueError(f"current thread count must be a positive integer, got {current!r}")
    return min(current, free_cores(cores, load))


def validate_threads(threads: object) -> ThreadsArg:
    """Check a ``threads=`` argument: None, ``"auto"`` or an integer in [1, MAX_THREADS].

    Returns it unchanged (an integer given as e.g. ``numpy.int64`` comes back as ``int``).
    Raises ``ValueError`` naming the value for anything else: booleans, floats, text other
    than ``"auto"``, zero, negative or absurdly large counts.
    """
    if threads is None or threads == "auto":
        return threads  # type: ignore[return-value]
    if isinstance(threads, bool) or not hasattr(threads, "__index__"):
        raise ValueError(f"threads must be None, 'auto' or a positive integer, got {threads!r}")
    count = int(threads.__index__())  # type: ignore[attr-defined]
    if not 1 <= count <= MAX_THREADS:
        raise ValueError(f"threads must be between 1 and {MAX_THREADS}, got {threads!r}")
    return count


def apply_threads(threads: object = "auto") -> int:
    """Set torch's intra-op thread count by the policy and return it.

    ``threads`` is an integer (used as given), ``"auto"`` (``choose_threads`` on this
    machine now) or None (leave torch's count alone). The count is process-wide: it
    applies to every tracker and every torch call of the process. Raises ``ValueError``
    as ``validate_threads`` does.
    """
    import torch

    checked = validate_threads(threads)
    if checked is None:
        return torch.get_num_threads()
    count = checked if isinstance(checked, int) else choose_threads(available_cores(), other_load(load_average()),
                                                                    torch.get_num_threads())
    if count != torch.get_num_threads():
        torch.set_num_threads(count)
    return count
