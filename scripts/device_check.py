#!/usr/bin/env python
"""The GPU check of issue 19, in one call under 10 minutes: build, CUDA tests, GPU benchmarks, JSON.

    scripts/device_check.sh                 # on a machine with a GPU; results under $OUT (or --out)
    scripts/device_check.sh --dry-run       # anywhere: the steps' CPU parts, same JSON layout

Steps, each a subprocess with its own timeout, all within one deadline (``--budget``, default
570 s; a step gets the smaller of its timeout and what is left, so one hang cannot eat the
rest):

1. ``build``: the extension with CUDA for ``TORCH_CUDA_ARCH_LIST=9.0`` (``setup.py build_ext
   --inplace``);
2. ``env``: torch, CUDA and GPU facts, the kernels built;
3. ``cuda_tests``: ``pytest -m cuda tests plugins`` (kernels vs references, autograd,
   learners, crops, training) with a JUnit report, counted;
4. ``trackers_cuda``: every tracker on CUDA over the demo clip, FPS and the largest box
   difference from the same tracker on the CPU;
5. ``ops_tune``: ``python -m trackerzoo.ops.tune --device cuda``: every op's kernel vs
   reference vs alternatives at tracking shapes, interleaved, and the measured CUDA
   dispatch table (``ops_table.json``, to commit as the shipped table's ``cuda`` entry);
6. ``batch_cuda``: aggregate frames/s of ``trackerzoo.create_batch`` at n = 1, 4, 8, 32
   (recorded as skipped while ``create_batch`` does not exist);
7. ``cuda_graphs``: each op's fixed-shape call captured in a CUDA graph, replay vs eager;
8. ``prroi_cuda``: ``benchmarks/bench_prroi.py --device cuda``: PrRoIPool's CUDA kernel vs
   reference vs RoIAlign at DiMP's shapes (forward, box and feature gradients), JSON.

Everything lands in ``OUT`` (``--out``, else ``$OUT``): ``device_check.json`` (every step's
status, return code, seconds, log tail and parsed results), ``logs/<step>.log`` and the
steps' own files. ``--dry-run`` skips the build, collects the CUDA tests without running
them and runs the benchmark helpers on the CPU at tiny sizes, so the orchestration is
tested on machines without a GPU. The exit status is 0 when every step that ran succeeded.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCH_LIST = "9.0"
DEFAULT_BUDGET_S = 570.0
LOG_TAIL = 4000


@dataclasses.dataclass
class Step:
    """One step: a command run in the repository root, with its own timeout (seconds)."""

    name: str
    argv: list[str]
    timeout_s: float
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    result_file: str | None = None  # a JSON file the step writes under OUT, parsed into the report
    skip: str | None = None  # why the step does not run (it is still reported)


def python() -> str:
    """The interpreter for the steps: ``$PYTHON``, else the checkout's ``.venv``, else this one."""
    venv = REPO / ".venv" / "bin" / "python"
    return os.environ.get("PYTHON") or (str(venv) if venv.exists() else sys.executable)


def plan(out: Path, dry_run: bool, py: str | None = None) -> list[Step]:
    """The steps in order; in a dry run the GPU parts become their CPU-side counterparts."""
    py = py or python()
    device = "cpu" if dry_run else "cuda"
    helper = [py, str(REPO / "scripts" / "device_check_bench.py")]
    quick = ["--quick"] if dry_run else []
    build = Step(
        "build",
        [py, "setup.py", "build_ext", "--inplace"],
        300,
        env={"TORCH_CUDA_ARCH_LIST": ARCH_LIST, "MAX_JOBS": str(os.cpu_count() or 4)},
        skip="dry run: the CUDA build needs nvcc and a CUDA torch" if dry_run else None,
    )
    pytest_args = [py, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "tests", "plugins"]
    if dry_run:
        pytest_args.append("--collect-only")
    else:
        pytest_args += ["--junitxml", str(out / "cuda_tests.xml")]
    tune = [py, "-m", "trackerzoo.ops.tune", "--device", device, "--out", str(out / "ops_table.json"),
            "--report", str(out / "ops_tune.json"), "--markdown"]
    tune += ["--ops", "dw_xcorr", "lut_affinity_softmax", "--repeats", "3", "--budget", "0"] if dry_run else [
        "--repeats", "31", "--budget", "4"]
    prroi = [py, str(REPO / "benchmarks" / "bench_prroi.py"), "--device", device, "--out", str(out / "prroi.json")]
    prroi += ["--rois", "1", "--repeats", "3", "--budget", "0"] if dry_run else ["--repeats", "21", "--budget", "2"]
    return [
        build,
        Step("env", [*helper, "env", "--out", str(out / "env.json")], 60, result_file="env.json"),
        Step("cuda_tests", pytest_args, 200),
        Step("trackers_cuda", [*helper, "trackers", "--device", device, "--out", str(out / "trackers.json"), *quick],
             120, result_file="trackers.json"),
        Step("ops_tune", tune, 150, result_file="ops_tune.json"),
        Step("batch_cuda", [*helper, "batch", "--device", device, "--out", str(out / "batch.json"), *quick],
             90, result_file="batch.json"),
        Step("cuda_graphs", [*helper, "graphs", "--device", device, "--out", str(out / "graphs.json"), *quick],
             60, result_file="graphs.json"),
        Step("prroi_cuda", prroi, 60, result_file="prroi.json"),
    ]


def run_step(step: Step, out: Path, remaining_s: float) -> dict:
    """Runs one step (or records why not); returns its report entry."""
    entry: dict = {"name": step.name, "argv": step.argv, "env": step.env, "timeout_s": step.timeout_s}
    if step.skip:
        return {**entry, "status": "skipped", "why": step.skip}
    if remaining_s < 5:
        return {**entry, "status": "skipped", "why": f"out of time ({remaining_s:.0f} s left of the budget)"}
    limit = min(step.timeout_s, remaining_s)
    log = out / "logs" / f"{step.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **step.env, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    with log.open("wb") as sink:
        try:
            proc = subprocess.Popen(step.argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as exc:
            return {**entry, "status": "failed", "rc": None, "seconds": 0.0, "log_tail": str(exc)}
        try:
            rc = proc.wait(timeout=limit)
            status = "ok" if rc == 0 else "failed"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            rc, status = None, "timeout"
    entry.update(status=status, rc=rc, seconds=round(time.perf_counter() - started, 2), limit_s=limit,
                 log=str(log.relative_to(out)), log_tail=_tail(log))
    if step.result_file:
        path = out / step.result_file
        try:
            entry["result"] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            entry["result_error"] = f"{type(exc).__name__}: {exc}"
    return entry


def _kill_group(proc: subprocess.Popen) -> None:
    """Ends a timed-out step and its children (its own process group, started for it)."""
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait()


def _tail(path: Path) -> str:
    data = path.read_bytes()
    return data[-LOG_TAIL:].decode("utf-8", "replace")


def junit_counts(path: Path) -> dict | None:
    """Tests, failures, errors and skips of a JUnit XML report (None when absent or unreadable)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    keys = ("tests", "failures", "errors", "skipped")
    return {key: sum(int(s.get(key, 0)) for s in suites) for key in keys}


def assemble(out: Path, entries: list[dict], dry_run: bool, started: float, budget_s: float) -> dict:
    """The report written to ``device_check.json``."""
    report = {
        "format": 1,
        "dry_run": dry_run,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
        "budget_s": budget_s,
        "host": platform.node(),
        "arch_list": ARCH_LIST,
        "steps": entries,
        "ok": all(e["status"] in ("ok", "skipped") for e in entries),
    }
    counts = junit_counts(out / "cuda_tests.xml")
    if counts is not None:
        report["cuda_tests"] = counts
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/device_check.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="results folder (default $OUT)")
    parser.add_argument("--dry-run", action="store_true", help="run the CPU-side parts only")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds for all steps (default 570)")
    parser.add_argument("--only", nargs="+", help="run only these steps (names as in the report)")
    parser.add_argument("--list", action="store_true", help="print the steps and exit")
    args = parser.parse_args(argv)
    if args.out is None:
        if not os.environ.get("OUT"):
            parser.error("no results folder: pass --out or set $OUT")
        args.out = Path(os.environ["OUT"])
    if not 10 <= args.budget <= 3600:
        parser.error(f"--budget must be between 10 and 3600 seconds, got {args.budget}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    steps = plan(out, args.dry_run)
    names = [s.name for s in steps]
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            print(f"unknown steps {unknown}; steps: {names}", file=sys.stderr)
            return 2
        steps = [s for s in steps if s.name in args.only]
    if args.list:
        for s in steps:
            print(f"{s.name:14s} {s.timeout_s:5.0f} s  {' '.join(s.argv)}" + (f"  [skip: {s.skip}]" if s.skip else ""))
        return 0
    deadline = time.perf_counter() + args.budget
    entries = []
    for step in steps:
        entry = run_step(step, out, deadline - time.perf_counter())
        entries.append(entry)
        print(f"[device_check] {step.name}: {entry['status']} ({entry.get('seconds', 0)} s)", file=sys.stderr)
    report = assemble(out, entries, args.dry_run, started, args.budget)
    (out / "device_check.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"[device_check] report: {out / 'device_check.json'}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
