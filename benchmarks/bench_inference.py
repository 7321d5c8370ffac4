"""CRACT with its backbone eager vs prepared for inference (exact, fast, fast + channels_last), one thread.

    python benchmarks/bench_inference.py [--frames 40] [--rounds 3] [--diff-frames N]

Times, interleaved over ``--rounds`` rounds, medians: the backbone alone on a search crop
(1 x 3 x 255 x 255) and ``track()`` per frame on the bundled clip (frames decoded
beforehand). Then the largest box difference (pixels, any coordinate) from the eager
tracker over the demo's run (its person, from its first frame to the end of the clip, or
the first ``--diff-frames`` frames of it).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import numpy as np
import torch

MODES = ("eager", "exact", "fast", "fast + channels_last")


def _tracker(mode: str):
    import trackerzoo
    from trackerzoo.nn.inference import prepare_for_inference

    inference = "fast" if mode.startswith("fast") else mode
    tracker = trackerzoo.create("cract", device="cpu", threads=1, inference=inference)
    if mode == "fast + channels_last":
        p = tracker.params
        generator = torch.Generator().manual_seed(0)
        sides = sorted({p.search_size, p.template_size, round(p.search_size * p.init_region_factor)})
        tracker.features = prepare_for_inference(
            tracker.network.features, channels_last=True,
            example_inputs=[(torch.rand(1, 3, s, s, generator=generator),) for s in sides])
    return tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--diff-frames", type=int, default=None, help="default: the rest of the clip (the demo's run)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from trackerzoo.demo_data import DEMO_CLIP, DEMO_PERSON, demo_person
    from trackerzoo.io import open_frames

    person = demo_person(DEMO_PERSON)
    start = person.first_frame
    clip = list(itertools.islice(open_frames(DEMO_CLIP), start, None))
    args.diff_frames = min(args.diff_frames or len(clip) - 1, len(clip) - 1)
    load = os.getloadavg()
    trackers = {mode: _tracker(mode) for mode in MODES}
    print(f"load average at start: {load}; 1 thread; paths: "
          + ", ".join(f"{m}: {getattr(t.features, 'path', 'eager')}" for m, t in trackers.items()))
    search = torch.rand(1, 3, 255, 255, generator=torch.Generator().manual_seed(1))
    backbone: dict[str, list[float]] = {mode: [] for mode in MODES}
    track: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _round in range(args.rounds):
        for mode, tracker in trackers.items():
            with torch.no_grad():
                tracker.features(search)
                begin = time.perf_counter()
                for _ in range(5):
                    tracker.features(search)
                backbone[mode].append((time.perf_counter() - begin) / 5)
            tracker.initialize(clip[0], box=person.init_box)
            begin = time.perf_counter()
            for frame in clip[1:args.frames + 1]:
                tracker.track(frame)
            track[mode].append((time.perf_counter() - begin) / args.frames)
    boxes = {}
    for mode, tracker in trackers.items():
        tracker.initialize(clip[0], box=person.init_box)
        boxes[mode] = np.array([tracker.track(frame).box for frame in clip[1:args.diff_frames + 1]])
    print(f"load average at end: {os.getloadavg()}")
    base_backbone, base_track = statistics.median(backbone["eager"]), statistics.median(track["eager"])
    print(f"| backbone | backbone ms (255 crop) | x eager | track() ms/frame | FPS | x eager | "
          f"max box diff vs eager, {args.diff_frames} frames (px) |")
    print("|---|---|---|---|---|---|---|")
    for mode in MODES:
        b, t = statistics.median(backbone[mode]), statistics.median(track[mode])
        diff = float(np.abs(boxes[mode] - boxes["eager"]).max())
        print(f"| {mode} | {1000 * b:.1f} | {b / base_backbone:.2f} | {1000 * t:.1f} | {1 / t:.1f} | "
              f"{t / base_track:.2f} | {diff:.3g} |")


if __name__ == "__main__":
    main()
