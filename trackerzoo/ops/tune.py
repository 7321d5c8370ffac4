"""Measures every path of every op at tracking shapes and writes the dispatch table of ``auto``.

    python -m trackerzoo.ops.tune                      # CPU, writes ~/.cache/trackerzoo/ops_table.json
    python -m trackerzoo.ops.tune --device cuda --out table.json --report timings.json --markdown

For each op and shape bucket (``"1"``, ``"2-8"``, ``"9+"``: the batch, or the number of
filters for the DCF ops; ``dw_xcorr`` also with channels-last inputs) it times the
reference, the device's kernel when built and the op's alternatives on one representative
tracking shape, interleaved round by round (medians; CUDA calls synchronise inside the
timed region), after checking each path against the reference on the same inputs (float32,
normwise relative error at most ``TOLERANCE``). The table names the fastest correct path;
paths that fail or disagree are left out and reported. Timings use ``--threads`` intra-op
threads (default 1, the setting trackers run with).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from trackerzoo import ops
from trackerzoo.ops import _backend, _table

TOLERANCE = 1e-3
BUCKET_SIZES = {"1": 1, "2-8": 8, "9+": 32}


@dataclasses.dataclass(frozen=True)
class Case:
    """One op at one shape: ``make(device)`` builds the inputs and returns ``(run, tensors)``.

    ``run(backend)`` calls the op; ``tensors`` are its tensor inputs in the op's order (what
    ``ops.auto_choice`` needs).
    """

    op: str
    bucket: str
    shape: str
    make: Callable[[torch.device], tuple[Callable[[str], object], tuple[torch.Tensor, ...]]]


def _randn(*shape: int, seed: int, device: torch.device) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(device)


def _xcorr_case(n: int, bucket: str, channels_last: bool, c: int = 256, size: int = 31, k: int = 7) -> Case:
    def make(device: torch.device) -> tuple[Callable[[str], object], tuple[torch.Tensor, ...]]:
        search, kernel = _randn(n, c, size, size, seed=0, device=device), _randn(n, c, k, k, seed=1, device=device)
        if channels_last:
            search = search.contiguous(memory_format=torch.channels_last)
            kernel = kernel.contiguous(memory_format=torch.channels_last)
        return (lambda backend: ops.dw_xcorr(search, kernel, backend=backend)), (search, kernel)

    layout = " channels_last" if channels_last else ""
    return Case("dw_xcorr", bucket + ("/cl" if channels_last else ""), f"B{n}-{c}x{size}x{size}-k{k}{layout}", make)


def _roi_case(n: int, bucket: str, c: int = 256, size: int = 31, per_seq: int = 10) -> Case:
    def make(device: torch.device) -> tuple[Callable[[str], object], tuple[torch.Tensor, ...]]:
        g = torch.Generator().manual_seed(2)
        features = _randn(n, c, size, size, seed=0, device=device)
        index = torch.arange(n).repeat_interleave(per_seq).float()[:, None]
        xy = torch.rand(n * per_seq, 2, generator=g) * 150
        wh = torch.rand(n * per_seq, 2, generator=g) * 90 + 10
        rois = torch.cat([index, xy, xy + wh], 1).to(device)  # boxes in a 248-px search crop
        run = lambda backend: ops.pyramid_roi_align(features, rois, (6, 3, 1), 1 / 8, -1, True, backend=backend)
        return run, (features, rois)

    return Case("pyramid_roi_align", bucket, f"B{n}-{c}x{size}x{size}-{n * per_seq}rois", make)


def _prroi_case(k: int, bucket: str, c: int = 256, size: int = 36, pooled: int = 3) -> Case:
    def make(device: torch.device) -> tuple[Callable[[str], object], tuple[torch.Tensor, ...]]:
        g = torch.Generator().manual_seed(3)
        features = _randn(1, c, size, size, seed=0, device=device)
        xy = torch.rand(k, 2, generator=g) * 180
        wh = torch.rand(k, 2, generator=g) * 90 + 20
        rois = torch.cat([torch.zeros(k, 1), xy, xy + wh], 1).to(device)  # boxes in a 288-px crop
        run = lambda backend: ops.prroi_pool(features, rois, pooled, 1 / 8, backend=backend)
        return run, (features, rois)

    return Case("prroi_pool", bucket, f"{c}x{size}x{size}-{k}rois-{pooled}x{pooled}", make)


def _lut_case(n: int, bucket: str, queries: int = 625, keys: int = 225, c: int = 64) -> Case:
    def make(device: torch.device) -> tuple[Callable[[str], object], tuple[torch.Tensor, ...]]:
        q = _randn(n, queries, c, seed=0, device=device)
        k, v = _randn(n, keys, c, seed=1, device=device), _randn(n, keys, c, seed=2, device=device)
        return (lambda backend: ops.lut_affinity_softmax(q, k, v, backend=backend)), (q, k, v)

    return Case("lut_affinity_softmax", bucket, f"B{n}-{queries}q-{keys}k-{c}c", make)


def _dcf_case(op: str, filters: int, bucket: str, n: int = 250, c: int = 64, size: int = 18) -> Case:
    def make(device: torch.device) -> tuple[Callable[[str], object], tuple[torch.Tensor, ...]]:
        x = _randn(n, c, size, size, seed=0, device=device)
        w = torch.full((n,), 1.0 / n, device=device)
        if op == "dcf_normal_apply":
            filt = _randn(filters, c, 4, 4, seed=1, device=device)
            return (lambda backend: ops.dcf_normal_apply(x, w, filt, 0.01, 2, backend=backend)), (x, w, filt)
        y = _randn(n, filters, size + 1, size + 1, seed=1, device=device)
        filt = torch.zeros(filters, c, 4, 4, device=device)
        return (lambda backend: ops.dcf_cg(x, y, w, filt, 0.01, 2, 5, backend=backend)), (x, y, w, filt)

    iters = "-5it" if op == "dcf_cg" else ""
    return Case(op, bucket, f"N{n}-{c}x{size}x{size}-f{filters}x4x4{iters}", make)


def tracking_cases(only: tuple[str, ...] | None = None) -> list[Case]:
    """The representative shape of every op and bucket (the shapes of benchmarks/README.md)."""
    cases: list[Case] = []
    for bucket, n in BUCKET_SIZES.items():
        cases += [_xcorr_case(n, bucket, False), _xcorr_case(n, bucket, True)]
        cases += [_roi_case(n, bucket), _prroi_case(n, bucket), _lut_case(n, bucket)]
        cases += [_dcf_case("dcf_cg", n, bucket), _dcf_case("dcf_normal_apply", n, bucket)]
    cases.sort(key=lambda case: (_backend.OPS.index(case.op), case.bucket))
    return [case for case in cases if only is None or case.op in only]


def candidates(op: str, device: torch.device) -> list[str]:
    """The paths of ``op`` that can run on ``device``: reference, built kernel, alternatives."""
    kernel = [device.type] if device.type in ("cpu", "cuda") and _backend._has_kernel(op, device.type) else []
    return ["torch", *kernel, *_backend.ALTERNATIVES[op]]


def relative_error(out: object, expected: object) -> float:
    """Normwise relative error of an output (a tensor or a tuple of them) against the reference's."""
    outs = out if isinstance(out, tuple) else (out,)
    refs = expected if isinstance(expected, tuple) else (expected,)
    if len(outs) != len(refs):
        return float("inf")
    worst = 0.0
    for a, b in zip(outs, refs, strict=True):
        if a.shape != b.shape:
            return float("inf")
        scale = max(float(b.double().norm()), 1e-30)
        worst = max(worst, float((a.double() - b.double()).norm()) / scale)
    return worst


def measure(case: Case, device: torch.device, repeats: int = 15, budget_s: float = 3.0) -> dict:
    """Times every candidate of ``case`` interleaved; checks each against the reference first.

    Returns ``{"op", "bucket", "shape", "medians_ms": {path: ms}, "errors": {path: relative
    error}, "rejected": {path: why}}``; a path is timed only when correct. Rounds stop at
    ``repeats`` or once ``budget_s`` seconds have gone (at least 3 rounds).
    """
    run, _ = case.make(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    expected = run("torch")
    errors: dict[str, float] = {}
    rejected: dict[str, str] = {}
    paths = []
    for path in candidates(case.op, device):
        try:
            err = relative_error(run(path), expected)
        except Exception as exc:  # a path that cannot run here is reported, never chosen
            rejected[path] = f"{type(exc).__name__}: {exc}"
            continue
        errors[path] = err
        if err <= TOLERANCE:
            paths.append(path)
        else:
            rejected[path] = f"relative error {err:.3g} > {TOLERANCE}"
    times: dict[str, list[float]] = {path: [] for path in paths}
    for path in paths:  # warm-up: allocator, oneDNN primitive caches, CUDA kernels
        run(path)
    sync()
    started = time.perf_counter()
    order = list(paths)
    shuffle = random.Random(0).shuffle
    for round_index in range(repeats):
        shuffle(order)
        for path in order:
            sync()
            t0 = time.perf_counter()
            run(path)
            sync()
            times[path].append(time.perf_counter() - t0)
        if round_index >= 2 and time.perf_counter() - started > budget_s:
            break
    return {
        "op": case.op,
        "bucket": case.bucket,
        "shape": case.shape,
        "medians_ms": {path: statistics.median(t) * 1e3 for path, t in times.items()},
        "errors": errors,
        "rejected": rejected,
    }


def fastest(row: dict) -> str | None:
    """The path with the smallest median in a ``measure`` row (None when nothing was timed)."""
    medians = row["medians_ms"]
    return min(medians, key=medians.get) if medians else None


def device_label(device: torch.device) -> str:
    """The device's name: the GPU's for CUDA, else the CPU model."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_table(rows: list[dict], device: torch.device, threads: int) -> dict:
    """A one-device dispatch table (``_table`` format) from ``measure`` rows."""
    choices: dict[str, dict[str, str]] = {}
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        best = fastest(row)
        if best is None:
            continue
        choices.setdefault(row["op"], {})[row["bucket"]] = best
        medians.setdefault(row["op"], {})[row["bucket"]] = {k: round(v, 4) for k, v in row["medians_ms"].items()}
    entry = {
        "measured_on": device_label(device),
        "torch": torch.__version__,
        "threads": threads,
        "date": time.strftime("%Y-%m-%d"),
        "choices": choices,
        "medians_ms": medians,
    }
    return {"format": _table.FORMAT, "devices": {device.type: entry}}


def merge_into(path: Path, table: dict) -> dict:
    """``table``'s devices written over those of the table at ``path`` (if readable); returns the result."""
    merged = {"format": _table.FORMAT, "devices": {}}
    if path.exists():
        try:
            old = _table.read(path)
            _table.parse(old, str(path))
            merged["devices"].update(old["devices"])
        except (OSError, ValueError) as exc:
            print(f"replacing unreadable table {path}: {exc}", file=sys.stderr)
    merged["devices"].update(table["devices"])
    return merged


def markdown(rows: list[dict], picks: dict[tuple[str, str], str]) -> str:
    """Rows as a Markdown table: medians per path, speed-up over the reference, auto's pick."""
    lines = [
        "| op | bucket | shape | path | median (ms) | vs reference | auto |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for row in rows:
        ref_ms = row["medians_ms"].get("torch")
        pick = picks.get((row["op"], row["bucket"]), "-")
        for path, ms in sorted(row["medians_ms"].items(), key=lambda item: item[1]):
            speed = f"{ref_ms / ms:.2f}x" if ref_ms else "-"
            mark = "auto" if path == pick else ""
            lines.append(f"| {row['op']} | {row['bucket']} | {row['shape']} | {path} | {ms:.3f} | {speed} | {mark} |")
        for path, why in row["rejected"].items():
            lines.append(f"| {row['op']} | {row['bucket']} | {row['shape']} | {path} | rejected: {why} | | |")
    return "\n".join(lines)


def auto_picks(cases: list[Case], device: torch.device) -> dict[tuple[str, str], str]:
    """What ``backend="auto"`` takes for each case under the table now in use."""
    return {(case.op, case.bucket): ops.auto_choice(case.op, *case.make(device)[1]) for case in cases}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m trackerzoo.ops.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--ops", nargs="+", choices=_backend.OPS, help="only these ops (default all)")
    parser.add_argument("--out", type=Path, help=f"table file (default {_table.user_table_path()})")
    parser.add_argument("--no-write", action="store_true", help="measure and report only; write no table")
    parser.add_argument("--report", type=Path, help="also write every timing and error to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="print the results as a Markdown table")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds per shape (default 15)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per shape after 3 rounds (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda, got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible")
    for name in ("repeats", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None, cases: list[Case] | None = None) -> int:
    """The command line; ``cases`` replaces the tracking shapes (tests use tiny ones)."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cases = tracking_cases(tuple(args.ops) if args.ops else None) if cases is None else cases
    before = auto_picks(cases, device)
    rows = []
    for case in cases:
        rows.append(measure(case, device, args.repeats, args.budget))
        print(f"{case.op} [{case.bucket}] {case.shape}: " + ", ".join(
            f"{p} {ms:.3f} ms" for p, ms in rows[-1]["medians_ms"].items()), file=sys.stderr)
    table = build_table(rows, device, args.threads)
    if not args.no_write:
        out = args.out or _table.user_table_path()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(merge_into(out, table), indent=1, sort_keys=True) + "\n")
        print(f"dispatch table written to {out}", file=sys.stderr)
        _table.set_table(None)  # the next auto call reads the files again
    # What auto picks from now on: the new table when written, else the one in use.
    picks = {(r["op"], r["bucket"]): p for r in rows if (p := fastest(r)) is not None} if not args.no_write else before
    if args.report:
        report = {
            "device": device_label(device),
            "device_type": device.type,
            "torch": torch.__version__,
            "threads": args.threads,
            "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "rows": rows,
            "auto_before": {f"{op} {bucket}": p for (op, bucket), p in before.items()},
            "auto_after": {f"{op} {bucket}": p for (op, bucket), p in picks.items()},
            "table": table,
        }
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        print(markdown(rows, picks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
