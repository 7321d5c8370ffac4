#!/usr/bin/env python
"""Prints the ops benchmark table: op, shape, backend, median, speed-up over the reference.

    .venv/bin/python scripts/bench_table.py                      # newest run of every device
    .venv/bin/python scripts/bench_table.py path/to/0001_x.json  # one saved run

Alternatives (grouped_cl, sdpa, gather, autograd) are rows like the kernels; the ``auto``
row names the path auto took in brackets. The speed-up of a path is the reference's median
(backend "torch", same op, shape and device) divided by the path's median; --markdown prints a Markdown table. Runs with
different thread counts (TRACKERZOO_BENCH_THREADS) are shown separately.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def newest_runs(root: Path) -> list[Path]:
    """The newest saved JSON of every device folder under ``root`` and thread count."""
    runs = []
    for device_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        newest: dict[object, Path] = {}
        for path in sorted(device_dir.rglob("*.json"), key=lambda p: p.name):
            run = json.loads(path.read_text())
            if "benchmarks" not in run:  # not a pytest-benchmark file (ops_alternatives.py writes those)
                continue
            threads = run.get("machine_info", {}).get("torch_threads")
            newest[threads] = path
        runs += [newest[t] for t in sorted(newest, key=str)]
    return runs


def rows_of(run: dict) -> list[dict]:
    rows = []
    for bench in run["benchmarks"]:
        info = bench.get("extra_info", {})
        if "op" not in info:
            continue
        rows.append({**info, "median_ms": bench["stats"]["median"] * 1e3, "min_ms": bench["stats"]["min"] * 1e3})
    refs = {(r["op"], r["shape"], r["device"]): r["median_ms"] for r in rows if r["backend"] == "torch"}
    for r in rows:
        ref = refs.get((r["op"], r["shape"], r["device"]))
        r["speedup"] = None if ref is None or r["backend"] == "torch" else ref / r["median_ms"]
    order = {"torch": 0, "cpu": 1, "cuda": 2, "auto": 8}
    return sorted(rows, key=lambda r: (r["op"], r["shape"], r["device"], order.get(r["backend"], 9)))


def render(run: dict, markdown: bool) -> str:
    header = ["op", "shape", "device", "backend", "median (ms)", "min (ms)", "speed-up vs reference"]
    lines = []
    for r in rows_of(run):
        speedup = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
        lines.append(
            [r["op"], r["shape"], r["device"], r["backend"] + (f" ({r['auto_picks']})" if "auto_picks" in r else ""),
             f"{r['median_ms']:.3f}", f"{r['min_ms']:.3f}", speedup]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*cells) for cells in [header, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="saved pytest-benchmark JSON files")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    runs = args.runs or (newest_runs(RESULTS) if RESULTS.exists() else [])
    if not runs:
        print(f"no benchmark results under {RESULTS}; run: python -m pytest benchmarks", file=sys.stderr)
        return 1
    for path in runs:
        run = json.loads(path.read_text())
        machine = run.get("machine_info", {})
        print(f"{machine.get('device', '?')}, {machine.get('torch_threads', '?')} threads ({path.name}, "
              f"torch {machine.get('torch', '?')}, load average at start {machine.get('loadavg_at_start', '?')})")
        print(render(run, args.markdown))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
