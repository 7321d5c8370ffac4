#!/usr/bin/env python
"""The measuring steps of scripts/device_check.py, each writing one JSON file.

    device_check_bench.py env      --out env.json
    device_check_bench.py trackers --device cuda --out trackers.json [--quick]
    device_check_bench.py batch    --device cuda --out batch.json    [--quick]
    device_check_bench.py graphs   --device cuda --out graphs.json   [--quick]

``trackers``: FPS of ``track()`` alone over the demo clip on ``--device`` and, on CUDA, the
largest box difference (px) from the same tracker on the CPU. ``batch``: aggregate frames/s
of ``trackerzoo.create_batch("cract", n)`` for n = 1, 4, 8, 32 (a "skipped" record while
``create_batch`` does not exist). ``graphs``: each op's B = 1 tracking-shape call under
``auto``, eager vs replayed from a CUDA graph (eager only on the CPU). ``--quick`` uses a few
frames and small n, for dry runs. Timings synchronise CUDA inside the timed region.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def env_info() -> dict:
    """torch, CUDA and GPU facts and the kernels built."""
    from trackerzoo import ops

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "kernels": ops.available_backends(),
        "extension_error": None if ops.extension_error() is None else str(ops.extension_error()),
        "dispatch_table_sources": ops.dispatch_table()["sources"],
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, capability=list(torch.cuda.get_device_capability(0)),
                    memory_gib=round(props.total_memory / 2**30, 1))
    smi = shutil.which("nvidia-smi")
    if smi:
        done = subprocess.run([smi, "--query-gpu=name,driver_version,clocks.max.sm", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30, check=False)
        info["nvidia_smi"] = done.stdout.strip()
    return info


def _clip(frames: int) -> list:
    from trackerzoo.demo_data import DEMO_CLIP
    from trackerzoo.io import open_frames

    return list(itertools.islice(open_frames(DEMO_CLIP), frames + 1))


def _create(name: str, device: str):
    import trackerzoo
    from trackerzoo.errors import WeightsNotFoundError

    try:
        return trackerzoo.create(name, device=device)
    except (WeightsNotFoundError, FileNotFoundError):
        return trackerzoo.create(name, device=device, weights=None)


def _track(name: str, device: torch.device, clip: list) -> tuple[float, list]:
    """Seconds of ``track()`` over ``clip[1:]`` (after an untimed initialisation) and the boxes."""
    from trackerzoo.demo_data import DEMO_INIT_BOX

    tracker = _create(name, device.type)
    tracker.initialize(clip[0], box=DEMO_INIT_BOX)
    _sync(device)
    started = time.perf_counter()
    boxes = [tuple(float(v) for v in tracker.track(frame).box) for frame in clip[1:]]
    _sync(device)
    return time.perf_counter() - started, boxes


def trackers(device: torch.device, quick: bool) -> dict:
    """Per tracker: FPS on ``device`` and, off the CPU, the largest box difference from the CPU."""
    import trackerzoo

    frames = 4 if quick else 40
    clip = _clip(frames)
    out: dict = {"device": str(device), "frames": frames, "trackers": {}}
    for info in trackerzoo.list_trackers():
        row: dict = {}
        try:
            _track(info.name, device, clip[:3])  # warm-up: kernels, caches, cuDNN autotuning
            seconds, boxes = _track(info.name, device, clip)
            row["fps"] = round(frames / seconds, 2)
            if device.type != "cpu":
                _, cpu_boxes = _track(info.name, torch.device("cpu"), clip)
                row["max_box_diff_px"] = max(
                    abs(a - b) for box, ref in zip(boxes, cpu_boxes, strict=True) for a, b in zip(box, ref, strict=True)
                )
        except Exception as exc:  # a tracker that cannot run on the device is reported, not fatal
            row["error"] = f"{type(exc).__name__}: {exc}"
        out["trackers"][info.name] = row
    return out


def batch(device: torch.device, quick: bool, name: str = "cract") -> dict:
    """Aggregate frames/s of ``create_batch(name, n)`` for several n (skipped without it)."""
    import trackerzoo

    if not hasattr(trackerzoo, "create_batch"):
        return {"status": "skipped", "why": "trackerzoo.create_batch does not exist in this checkout"}
    from trackerzoo.demo_data import DEMO_INIT_BOX

    frames = 3 if quick else 20
    clip = _clip(frames)
    sizes = (1, 2) if quick else (1, 4, 8, 32)
    rows = {}
    for n in sizes:
        try:
            tracker = trackerzoo.create_batch(name, n, device=device.type)
            tracker.initialize([clip[0]] * n, [DEMO_INIT_BOX] * n)
            tracker.track([clip[1]] * n)  # warm-up
            _sync(device)
            started = time.perf_counter()
            for frame in clip[2:]:
                tracker.track([frame] * n)
            _sync(device)
            seconds = time.perf_counter() - started
            rows[str(n)] = {"aggregate_fps": round(n * (len(clip) - 2) / seconds, 2)}
        except Exception as exc:
            rows[str(n)] = {"error": f"{type(exc).__name__}: {exc}"}
    base = rows.get("1", {}).get("aggregate_fps")
    for row in rows.values():
        if base and "aggregate_fps" in row:
            row["vs_n1"] = round(row["aggregate_fps"] / base, 2)
    return {"status": "ok", "tracker": name, "device": str(device), "frames": frames, "n": rows}


def _median_ms(fn, device: torch.device, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        _sync(device)
        started = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1e3, 4)


def graphs(device: torch.device, quick: bool) -> dict:
    """Per op at its B = 1 tracking shape under ``auto``: eager vs CUDA-graph replay (ms)."""
    from trackerzoo.ops import tune

    only = ("dw_xcorr", "lut_affinity_softmax") if quick else None
    rounds = 5 if quick else 50
    out: dict = {"device": str(device), "ops": {}}
    for case in tune.tracking_cases(only):
        if case.bucket != "1":
            continue
        run, _ = case.make(device)
        row: dict = {"shape": case.shape}
        try:
            run("auto")
            row["eager_ms"] = _median_ms(lambda run=run: run("auto"), device, rounds)
            if device.type == "cuda":
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    run("auto")
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    run("auto")
                row["graph_ms"] = _median_ms(graph.replay, device, rounds)
            else:
                row["graph"] = "CUDA graphs need a CUDA device"
        except Exception as exc:  # e.g. a path that synchronises with the host cannot be captured
            row["error"] = f"{type(exc).__name__}: {exc}"
        out["ops"][case.op] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("env", "trackers", "batch", "graphs"))
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="a few frames and small sizes (dry runs)")
    args = parser.parse_args(argv)
    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda, got {args.device!r}")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible")
    torch.set_num_threads(1)
    if args.what == "env":
        result = env_info()
    elif args.what == "trackers":
        result = trackers(device, args.quick)
    elif args.what == "batch":
        result = batch(device, args.quick)
    else:
        result = graphs(device, args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
