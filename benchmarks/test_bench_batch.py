"""Batched CRACT: aggregate frames per second of ``create_batch("cract", n)`` for n = 1, 4, 8, 32.

Every slot tracks the bundled demo clip (640x480) from its first frame; frames are
decoded before timing. One round per batch size: a fresh batch is initialised
(untimed), then ``STEPS`` calls of ``track`` over all ``n`` slots are timed; aggregate
FPS = n * STEPS / round seconds. The batch sizes are measured interleaved (round r of
every size before round r + 1 of any), and the median round is reported, so a change
in the machine's load hits all sizes alike. ``n = 1`` runs the same code as one
``CractTracker`` (the native batch of one slot is bitwise equal to it), so the ratio
to ``n = 1`` is the gain of batching. ``heads`` rows run the CRAC heads batched too
(``CractBatchTracker(batched_heads=True)``, not bitwise equal: see its docstring).

Run (prints the table, saves JSON like the other benchmarks)::

    TRACKERZOO_BENCH_THREADS=1 .venv/bin/python -m pytest benchmarks/test_bench_batch.py -s
    TRACKERZOO_BENCH_THREADS=2 .venv/bin/python -m pytest benchmarks/test_bench_batch.py -s

``TRACKERZOO_BATCH_SIZES=1,4,8`` and ``TRACKERZOO_BATCH_ROUNDS=3`` narrow a run.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time

import pytest
import torch

import trackerzoo
from trackerzoo.demo_data import DEMO_CLIP, DEMO_INIT_BOX
from trackerzoo.io import open_frames

STEPS = 8  # timed track() calls per round
SIZES = tuple(int(n) for n in os.environ.get("TRACKERZOO_BATCH_SIZES", "1,4,8,32").split(","))
ROUNDS = int(os.environ.get("TRACKERZOO_BATCH_ROUNDS", "3"))


def _batch(n: int, batched_heads: bool):
    if "cract" not in {info.name for info in trackerzoo.list_trackers()}:
        pytest.skip("cract is not installed")
    if not batched_heads:
        return trackerzoo.create_batch("cract", n, device="cpu")
    from trackerzoo_cract.batch import CractBatchTracker

    return CractBatchTracker(trackerzoo.create("cract", device="cpu"), n, batched_heads=True)


def _round(n: int, batched_heads: bool, clip) -> float:
    """Seconds of ``STEPS`` batched steps over ``n`` copies of the clip (initialisation untimed)."""
    batch = _batch(n, batched_heads)
    batch.initialize([clip[0]] * n, [DEMO_INIT_BOX] * n)
    started = time.perf_counter()
    for frame in clip[1:STEPS + 1]:
        batch.track([frame] * n)
    return time.perf_counter() - started


def test_batched_cract_aggregate_fps(benchmark):
    clip = list(itertools.islice(open_frames(DEMO_CLIP), STEPS + 1))
    cases = [(n, False) for n in SIZES] + [(n, True) for n in SIZES if n == 8]
    load_before = os.getloadavg()
    seconds: dict[tuple[int, bool], list[float]] = {case: [] for case in cases}

    def interleaved() -> None:
        for _ in range(ROUNDS):
            for case in cases:
                seconds[case].append(_round(*case, clip))

    benchmark.group = "batched-cract"
    benchmark.pedantic(interleaved, rounds=1, iterations=1)
    load_after = os.getloadavg()
    fps = {case: case[0] * STEPS / statistics.median(times) for case, times in seconds.items()}
    base = fps.get((1, False))
    rows = []
    for (n, heads), value in fps.items():
        ratio = value / base if base else float("nan")
        rows.append({"n": n, "heads": "batched" if heads else "per slot", "fps": value, "vs_n1": ratio,
                     "round_seconds": seconds[(n, heads)]})
    benchmark.extra_info.update({"threads": torch.get_num_threads(), "steps": STEPS, "rounds": ROUNDS,
                                 "loadavg_before": list(load_before), "loadavg_after": list(load_after),
                                 "rows": rows})
    print(f"\nbatched CRACT, {torch.get_num_threads()} thread(s), load average before {load_before}, "
          f"after {load_after}")
    print("| n | CRAC heads | aggregate FPS | vs n = 1 |\n|---:|---|---:|---:|")
    for row in rows:
        print(f"| {row['n']} | {row['heads']} | {row['fps']:.1f} | {row['vs_n1']:.2f}x |")
