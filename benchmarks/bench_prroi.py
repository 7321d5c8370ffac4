#!/usr/bin/env python
"""``ops.prroi_pool`` at DiMP's shapes: C++ kernel vs reference vs RoIAlign with many samples.

    .venv/bin/python benchmarks/bench_prroi.py                 # CPU, 1 thread, about 2 minutes
    .venv/bin/python benchmarks/bench_prroi.py --device cuda

DiMP (and RTS's instance branch) pool a 288 x 288 search crop's features: the IoU-Net pools
layer3 (256 channels, stride 8: 36 x 36) to 3 x 3 and layer4 (stride 16: 18 x 18) to 1 x 1,
for 1 box at a time up to 64 proposals, and refines the boxes by gradient ascent, so the
gradient with respect to the boxes is part of inference ("fwd+bwd boxes"); training also
needs the features' gradient ("fwd+bwd features"); the filter initialiser pools the 18 x 18
classification features to 4 x 4. The rival is what one would write without PrRoIPool: our
RoIAlign kernel (``pyramid_roi_align``, half-pixel shift undone, 4 x 4 = 16 bilinear samples
per bin), which only approximates the integral, is zero-free at the border, and gives no box
gradient. All paths of a case are timed round by round in shuffled order (medians); the table
also gives the minima (robust to a busy machine) and RoIAlign's largest deviation from the
exact integral, relative to the largest pooled value. JSON (with the load average)
goes to ``benchmarks/results/<device-slug>/prroi_<device-type>_threads<N>_<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import slug  # noqa: E402  (benchmarks/ is not a package)

# (name, channels, map size, spatial scale, pooled size)
SHAPES = [
    ("iou-l3-256x36x36-3x3", 256, 36, 1 / 8, 3),
    ("iou-l4-256x18x18-1x1", 256, 18, 1 / 16, 1),
    ("init-256x18x18-4x4", 256, 18, 1 / 16, 4),
]
MODES = ("fwd", "fwd+bwd boxes", "fwd+bwd features")
ROIALIGN_SAMPLES = 4


def dimp_rois(k: int, seed: int = 0):
    """``k`` boxes ``(0, x1, y1, x2, y2)`` in a 288-px crop around a target of about 72 px."""
    import torch

    g = torch.Generator().manual_seed(seed)
    centre = 144 + (torch.rand(k, 2, generator=g) - 0.5) * 40
    size = 72 * torch.exp((torch.rand(k, 2, generator=g) - 0.5) * 0.8)
    return torch.cat([torch.zeros(k, 1), centre - size / 2, centre + size / 2], 1)


def make_paths(feat, rois, scale: float, pooled: int, mode: str, device) -> dict:
    """Path name -> a function running one call of ``mode``; RoIAlign has no box gradient."""
    import torch

    from trackerzoo import ops

    def prroi(backend):
        def run():
            f = feat.requires_grad_(mode == "fwd+bwd features")
            r = rois.clone().requires_grad_(mode == "fwd+bwd boxes")
            out = ops.prroi_pool(f, r, pooled, scale, backend=backend)
            if mode != "fwd":
                out.sum().backward()
            return out

        return run

    shifted = rois.clone()
    shifted[:, 1:] += 0.5 / scale  # RoIAlign's aligned=True subtracts half a pixel

    def roialign():
        f = feat.requires_grad_(mode == "fwd+bwd features")
        (out,) = ops.pyramid_roi_align(f, shifted, (pooled,), scale, ROIALIGN_SAMPLES, True)
        if mode != "fwd":
            out.sum().backward()
        return out

    paths = {"torch": prroi("torch")}
    kernel = "cuda" if device.type == "cuda" else "cpu"
    if kernel in ops.available_backends()["prroi_pool"]:
        paths[kernel] = prroi(kernel)
    if mode != "fwd+bwd boxes":
        paths[f"roi_align x{ROIALIGN_SAMPLES * ROIALIGN_SAMPLES}"] = roialign
    if device.type == "cuda":
        paths = {name: (lambda fn=fn: (fn(), torch.cuda.synchronize())) for name, fn in paths.items()}
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--rois", type=int, nargs="+", default=[1, 8, 64], help="numbers of boxes (default 1 8 64)")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds per case (default 15)")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per case after 3 rounds (default 4)")
    parser.add_argument("--out", type=Path, help="JSON path (default under benchmarks/results/<device>/)")
    args = parser.parse_args(argv)
    import torch

    from trackerzoo.ops import tune

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible")
    load = os.getloadavg()
    rows = []
    for name, channels, size, scale, pooled in SHAPES:
        feat = torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(1)).to(device)
        for k in args.rois:
            rois = dimp_rois(k).to(device)
            exact = ops_exact(feat, rois, scale, pooled)
            for mode in MODES:
                if pooled == 4 and mode == "fwd+bwd boxes":
                    continue  # the filter initialiser does not refine boxes
                paths = make_paths(feat, rois, scale, pooled, mode, device)
                times = {p: [] for p in paths}
                start = time.perf_counter()
                for r in range(args.repeats):
                    order = list(paths)
                    random.Random(r).shuffle(order)
                    for p in order:
                        t0 = time.perf_counter()
                        paths[p]()
                        times[p].append(time.perf_counter() - t0)
                    if r >= 2 and time.perf_counter() - start > args.budget:
                        break
                ref_ms = statistics.median(times["torch"]) * 1e3
                for p, ts in times.items():
                    ms = statistics.median(ts) * 1e3
                    err = None
                    if p.startswith("roi_align"):
                        with torch.no_grad():
                            approx = paths_output(feat, rois, scale, pooled)
                        err = float((approx - exact).abs().max() / exact.abs().max().clamp_min(1e-12))
                    rows.append({"shape": name, "rois": k, "mode": mode, "path": p, "median_ms": ms,
                                 "min_ms": min(ts) * 1e3,
                                 "vs_reference": ref_ms / ms, "rounds": len(ts), "max_rel_error": err})
    stamp = time.strftime("%Y%m%d_%H%M%S")
    out = args.out or HERE / "results" / slug(tune.device_label(device)) / (
        f"prroi_{device.type}_threads{args.threads}_{stamp}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"device": tune.device_label(device), "torch": torch.__version__, "threads": args.threads,
              "load_average_at_start": load, "load_average_at_end": os.getloadavg(), "rows": rows}
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{report['device']}, {args.threads} thread(s), torch {torch.__version__}, load average "
          f"{' / '.join(f'{v:.1f}' for v in load)} at the start\n")
    print("| shape | K | mode | path | median (ms) | min (ms) | vs reference | max rel. deviation |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for row in rows:
        err = "-" if row["max_rel_error"] is None else f"{row['max_rel_error']:.3f}"
        print(f"| {row['shape']} | {row['rois']} | {row['mode']} | {row['path']} | {row['median_ms']:.3f} "
              f"| {row['min_ms']:.3f} | {row['vs_reference']:.2f}x | {err} |")
    print(f"\nresults: {out}", file=sys.stderr)
    return 0


def ops_exact(feat, rois, scale: float, pooled: int):
    """The exact PrRoIPool (the float64 reference) of ``feat`` and ``rois``."""
    from trackerzoo import ops

    return ops.prroi_pool(feat.detach().double(), rois.double(), pooled, scale, backend="torch").to(feat.dtype)


def paths_output(feat, rois, scale: float, pooled: int):
    """RoIAlign's approximation of the same bins (as timed above)."""
    from trackerzoo import ops

    shifted = rois.clone()
    shifted[:, 1:] += 0.5 / scale
    return ops.pyramid_roi_align(feat.detach(), shifted, (pooled,), scale, ROIALIGN_SAMPLES, True)[0]


if __name__ == "__main__":
    sys.exit(main())
