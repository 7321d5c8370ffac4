"""ARN (OceanPlus) speed on this machine: the tracker alone, and its LUT retrieval kernel vs the reference.

    python benchmarks/bench_arn.py [--frames 20] [--rounds 3] [--variant mobilenetv2] [--out FILE.json]

Frames of a procedural 640x480 sequence are rendered beforehand; only ``track()`` is
timed (crop, network, read-out, mask pasted into the frame, rotated box), medians over
rounds. Each round runs the tracker with ``ops_backend="torch"`` (pure-PyTorch reference
for ``dw_xcorr`` and ``lut_affinity_softmax``), ``"cpu"`` (the C++ kernels) and ``"auto"`` (the measured
dispatch), and times the ARN retrieval call alone on the tracker's real shapes
(1 x 1024 queries, 1 x 256 keys, 64 channels for a 255 search crop).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time

import torch


def _frames(count: int):
    from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence

    spec = DatasetSpec(sequences=1, frames=(count + 1, count + 1), seed=3, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(640, 480)))
    truths = list(generate_sequence(spec, 0)[1])
    return [t.image for t in truths], truths[0].box, truths[0].mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", default="mobilenetv2")
    parser.add_argument("--weights", default="none", help="'none' (random), 'default' or a path: speed only")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    import trackerzoo
    from trackerzoo import ops

    weights = None if args.weights == "none" else args.weights
    frames, box, mask = _frames(args.frames)
    per_frame: dict[str, list[float]] = {"torch": [], "cpu": [], "auto": []}
    retrieval: dict[str, list[float]] = {"torch": [], "cpu": [], "auto": []}
    for _ in range(args.rounds):
        for backend in per_frame:
            tracker = trackerzoo.create("arn", variant=args.variant, weights=weights, device="cpu",
                                        ops_backend=backend)
            tracker.initialize(frames[0], tuple(float(v) for v in box), mask)
            start = time.perf_counter()
            for frame in frames[1:]:
                tracker.track(frame)
            per_frame[backend].append((time.perf_counter() - start) / (len(frames) - 1))
            lut = tracker.template.lut
            query = torch.randn(1, 32 * 32 if args.variant == "mobilenetv2" else 31 * 31, lut.keys.shape[-1])
            calls = 200
            start = time.perf_counter()
            for _ in range(calls):
                ops.lut_affinity_softmax(query, lut.keys, lut.values, backend=backend)
            retrieval[backend].append((time.perf_counter() - start) / calls)
    result = {
        "variant": args.variant, "frames": args.frames, "rounds": args.rounds,
        "threads": torch.get_num_threads(), "loadavg": list(os.getloadavg()),
        "auto_path": ops.auto_choice("lut_affinity_softmax", query, lut.keys, lut.values),
        "track_ms": {k: 1000 * statistics.median(v) for k, v in per_frame.items()},
        "fps": {k: 1.0 / statistics.median(v) for k, v in per_frame.items()},
        "lut_retrieval_us": {k: 1e6 * statistics.median(v) for k, v in retrieval.items()},
    }
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
