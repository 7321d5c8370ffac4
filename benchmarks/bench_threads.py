"""CRACT FPS at 1 and 2 intra-op threads, with and without a CPU load we start: the thread policy vs torch's default.

    python benchmarks/bench_threads.py [--frames 15] [--rounds 2] [--timeout 600] [--json out.json]

Each measurement is a fresh child process (OpenMP reads its wait policy once, when torch
is imported), so the two policies can be compared in one run:

- ``policy``: the child imports trackerzoo first, which sets ``OMP_WAIT_POLICY=PASSIVE``
  before torch starts (``trackerzoo.threads``);
- ``torch default``: the child imports torch first (no ``OMP_WAIT_POLICY`` in its
  environment), so OpenMP keeps its default spin-then-sleep waiting;
- ``policy, auto``: as ``policy`` with ``threads="auto"`` (free cores from the load).

The load is one busy-loop process per available core, started before and stopped after
the loaded measurements. Rounds interleave every configuration; the table gives the
median FPS of ``track()`` (frames decoded beforehand; each child times chunks of ``CHUNK``
frames, the table takes the median of those over the rounds) and the median ratio of process CPU
time to wall time while tracking (above the thread count's share = threads spinning).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 5  # frames per timed chunk: a child's FPS is the median over its chunks
CONFIGS = (("torch default", 1), ("policy", 1), ("torch default", 2), ("policy", 2), ("policy, auto", "auto"))


def child(policy: str, threads: str, frames: int, inference: str) -> None:
    """One measurement in this process; prints a JSON line."""
    if policy == "torch default":
        import torch  # first, so that OpenMP starts before trackerzoo can set its policy
    import itertools

    import trackerzoo
    from trackerzoo.demo_data import DEMO_CLIP, DEMO_INIT_BOX
    from trackerzoo.io import open_frames

    clip = list(itertools.islice(open_frames(DEMO_CLIP), frames + 1))
    count: int | str = threads if threads == "auto" else int(threads)
    tracker = trackerzoo.create("cract", device="cpu", threads=count, inference=inference)
    tracker.initialize(clip[0], box=DEMO_INIT_BOX)
    import torch

    rates, wall, cpu = [], time.perf_counter(), time.process_time()
    for chunk in range(0, frames, CHUNK):
        begin = time.perf_counter()
        for frame in clip[1 + chunk:1 + min(chunk + CHUNK, frames)]:
            tracker.track(frame)
        rates.append(min(CHUNK, frames - chunk) / (time.perf_counter() - begin))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"fps": statistics.median(rates), "cpu_per_wall": cpu / wall, "threads": torch.get_num_threads(),
                      "passive": trackerzoo.PASSIVE_WAITING, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}))


def _measure(policy: str, threads: int | str, frames: int, timeout: float, inference: str) -> dict:
    environ = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--child", policy, str(threads), "--frames", str(frames),
               "--inference", inference]
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=environ, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # a collapse: at most `frames` frames in `timeout` seconds
        return {"fps": 0.0, "cpu_per_wall": float("nan"), "threads": threads, "timed_out": timeout}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _start_load(processes: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]


def _stop_load(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds per child (start-up included); a child past it counts as 0 FPS (collapse)")
    parser.add_argument("--inference", default="exact", help="CRACT's inference parameter in the children")
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    parser.add_argument("--child", nargs=2, metavar=("POLICY", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.frames, args.inference)
        return
    cores = len(os.sched_getaffinity(0))
    runs: dict[tuple[str, str, bool], list[dict]] = {}
    loads: list[float] = []
    for _round in range(args.rounds):
        for loaded in (False, True):
            workers = _start_load(cores) if loaded else []
            try:
                for policy, threads in CONFIGS:
                    loads.append(os.getloadavg()[0])
                    measured = _measure(policy, threads, args.frames, args.timeout, args.inference)
                    print(json.dumps({"policy": policy, "threads": threads, "loaded": loaded,
                                      "load": loads[-1], **measured}), file=sys.stderr, flush=True)
                    runs.setdefault((policy, str(threads), loaded), []).append(measured)
            finally:
                _stop_load(workers)
    print(f"load average (1 min) during the run: {min(loads):.2f}-{max(loads):.2f}; {cores} cores; "
          f"load = {cores} busy-loop processes; {args.frames} frames x {args.rounds} rounds")
    print("| threads | waiting | CPU load | FPS (median) | CPU/wall | threads used |")
    print("|---|---|---|---|---|---|")
    for (policy, threads, loaded), measured in runs.items():
        fps = statistics.median(m["fps"] for m in measured)  # medians of chunk medians
        ratio = statistics.median(m["cpu_per_wall"] for m in measured)
        used = sorted({m["threads"] for m in measured})
        print(f"| {threads} | {policy} | {'busy loops' if loaded else 'none'} | {fps:.1f} | {ratio:.2f} | {used} |")
    if args.json:
        args.json.write_text(json.dumps({"loads": loads, "runs": [
            {"policy": p, "threads": t, "loaded": ld, "measurements": m} for (p, t, ld), m in runs.items()]}, indent=1))


if __name__ == "__main__":
    main()
