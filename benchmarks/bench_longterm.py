"""CRACT short-term vs long-term per-frame cost, and the cost of the long-term search frames, one thread.

    python benchmarks/bench_longterm.py [--frames 30] [--rounds 3] [--sequence DIR]

``--sequence`` is a GOT-10k-layout folder of a zoo-synth-lt sequence (default
``/work/data/zlt/got10k/zlt-0000``; frames 640x480). Times, medians over ``--rounds``
interleaved rounds, seconds per call:

* ``track()`` on the first ``--frames`` frames (target in view) for CRACT and for CRACT
  long-term: the normal-frame cost, which long-term mode must leave unchanged (median
  over every frame of every round; the two modes alternate which runs first);
* one widened-search frame (one region of ``widen_factor`` search regions), one sliding
  global-search frame (the region at the last box plus ``tiles_per_frame`` tiles) and one
  full sweep of the frame (every tile of both sizes), through ``score_regions`` of the
  long-term tracker.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch


def _frames(folder: Path, count: int) -> tuple[list[np.ndarray], tuple[float, ...]]:
    paths = sorted(folder.glob("*.jpg"))[:count + 1]
    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    first = (folder / "groundtruth.txt").read_text().splitlines()[0]
    return frames, tuple(float(v) for v in first.split(","))


def main() -> None:
    import trackerzoo
    from trackerzoo.longterm import global_tiles

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequence", type=Path, default=Path("/work/data/zlt/got10k/zlt-0000"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames, box = _frames(args.sequence, args.frames)
    times: dict[str, list[float]] = {}
    for round_index in range(args.rounds):
        modes = ("short-term", "long-term") if round_index % 2 == 0 else ("long-term", "short-term")
        for mode in modes:  # alternate which mode runs first, so neither always meets a warm cache
            tracker = trackerzoo.create("cract", device="cpu", long_term=mode == "long-term")
            tracker.initialize(frames[0], box=box)
            for frame in frames[1:]:
                started = time.perf_counter()
                tracker.track(frame)
                times.setdefault(f"track() per frame, {mode}", []).append(time.perf_counter() - started)
            if mode == "long-term":
                long_term = tracker
        p, inner = long_term.params, long_term.inner
        x, y, w, h = box
        centre = np.array([[x + w / 2.0, y + h / 2.0]])
        tiles = global_tiles(frames[0].shape[:2], inner.search_side(), p.tile_stride)
        grown = global_tiles(frames[0].shape[:2], inner.search_side() * p.grown_scale, p.tile_stride)
        searches = {
            f"widened search frame (1 region x {p.widen_factor:g})": [(centre, p.widen_factor, 1.0)],
            f"global search frame (last box + {p.tiles_per_frame} tiles)": [
                (np.concatenate([centre, tiles[:p.tiles_per_frame]]), 1.0, 1.0)],
            f"full sweep ({len(tiles)} + {len(grown)} tiles)": [(tiles, 1.0, 1.0), (grown, 1.0, p.grown_scale)],
        }
        for label, groups in searches.items():
            started = time.perf_counter()
            for centres, factor, scale in groups:
                inner.score_regions(frames[-1], centres, factor, scale)
            times.setdefault(label, []).append(time.perf_counter() - started)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(f"threads 1, load average {load} at the end")
    for label, values in times.items():
        print(f"{label}: {statistics.median(values):.3f} s")


if __name__ == "__main__":
    main()
