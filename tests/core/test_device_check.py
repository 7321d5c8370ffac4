"""scripts/device_check.py and its helpers: the CPU-side logic of the GPU check (issue 19, item 6)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


device_check = _load("device_check")
bench = _load("device_check_bench")


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_gpu_plan_builds_for_sm90_and_runs_every_cuda_test(tmp_path):
    steps = {s.name: s for s in device_check.plan(tmp_path, dry_run=False, py="python")}
    assert list(steps) == ["build", "env", "cuda_tests", "trackers_cuda", "ops_tune", "batch_cuda", "cuda_graphs",
                           "prroi_cuda"]
    assert steps["build"].env["TORCH_CUDA_ARCH_LIST"] == "9.0" and steps["build"].skip is None
    assert steps["build"].argv == ["python", "setup.py", "build_ext", "--inplace"]
    tests = steps["cuda_tests"].argv
    assert tests[tests.index("-m", 2) + 1] == "cuda" and "tests" in tests and "plugins" in tests
    assert "--junitxml" in tests and "--collect-only" not in tests
    for name in ("trackers_cuda", "batch_cuda", "cuda_graphs", "ops_tune", "prroi_cuda"):
        argv = steps[name].argv
        assert argv[argv.index("--device") + 1] == "cuda"
        assert "--quick" not in argv
    assert all(0 < s.timeout_s <= device_check.DEFAULT_BUDGET_S for s in steps.values())
    assert device_check.DEFAULT_BUDGET_S < 600


def test_the_dry_run_plan_keeps_to_the_cpu(tmp_path):
    steps = {s.name: s for s in device_check.plan(tmp_path, dry_run=True, py="python")}
    assert steps["build"].skip
    assert "--collect-only" in steps["cuda_tests"].argv
    for name in ("trackers_cuda", "batch_cuda", "cuda_graphs", "ops_tune", "prroi_cuda"):
        argv = steps[name].argv
        assert argv[argv.index("--device") + 1] == "cpu"
    assert all("--quick" in steps[n].argv for n in ("trackers_cuda", "batch_cuda", "cuda_graphs"))


def test_out_comes_from_the_option_or_the_environment(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("OUT", raising=False)
    with pytest.raises(SystemExit):
        device_check.parse_args([])
    assert "pass --out or set $OUT" in capsys.readouterr().err
    monkeypatch.setenv("OUT", str(tmp_path))
    assert device_check.parse_args([]).out == tmp_path
    assert device_check.parse_args(["--out", "x"]).out == Path("x")
    with pytest.raises(SystemExit):
        device_check.parse_args(["--budget", "5"])
    assert "--budget must be between 10 and 3600 seconds, got 5.0" in capsys.readouterr().err


def test_run_step_records_success_and_parses_the_result(tmp_path):
    code = f"import json; json.dump({{'fps': 3}}, open({str(tmp_path / 'r.json')!r}, 'w')); print('hello')"
    entry = device_check.run_step(device_check.Step("s", _py(code), 30, result_file="r.json"), tmp_path, 100)
    assert entry["status"] == "ok" and entry["rc"] == 0
    assert entry["result"] == {"fps": 3}
    assert "hello" in entry["log_tail"] and (tmp_path / entry["log"]).exists()


def test_run_step_records_failure_and_a_missing_result(tmp_path):
    entry = device_check.run_step(device_check.Step("s", _py("raise SystemExit(3)"), 30, result_file="r.json"),
                                  tmp_path, 100)
    assert entry["status"] == "failed" and entry["rc"] == 3
    assert entry["result_error"].startswith("FileNotFoundError")


def test_a_hanging_step_is_killed_at_its_timeout(tmp_path):
    entry = device_check.run_step(device_check.Step("hang", _py("import time; time.sleep(60)"), 1), tmp_path, 100)
    assert entry["status"] == "timeout" and entry["rc"] is None
    assert entry["seconds"] < 30


def test_a_step_is_cut_to_what_is_left_of_the_budget(tmp_path):
    entry = device_check.run_step(device_check.Step("s", _py("import time; time.sleep(60)"), 300), tmp_path, 5.5)
    assert entry["status"] == "timeout" and entry["limit_s"] == 5.5
    skipped = device_check.run_step(device_check.Step("late", _py("pass"), 300), tmp_path, 2)
    assert skipped["status"] == "skipped" and "out of time" in skipped["why"]


def test_junit_counts(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text('<testsuites><testsuite tests="5" failures="1" errors="0" skipped="2"/></testsuites>')
    assert device_check.junit_counts(path) == {"tests": 5, "failures": 1, "errors": 0, "skipped": 2}
    assert device_check.junit_counts(tmp_path / "absent.xml") is None


def test_main_assembles_one_json_and_fails_when_a_step_fails(monkeypatch, tmp_path):
    def fake_plan(out, dry_run, py=None):
        return [
            device_check.Step(
                "good", _py(f"open({str(out / 'g.json')!r}, 'w').write('[1]')"), 30, result_file="g.json"
            ),
            device_check.Step("bad", _py("raise SystemExit(1)"), 30),
            device_check.Step("later", _py("pass"), 30, skip="not here"),
        ]

    monkeypatch.setattr(device_check, "plan", fake_plan)
    (tmp_path / "cuda_tests.xml").write_text('<testsuite tests="2" failures="0" errors="0" skipped="0"/>')
    assert device_check.main(["--out", str(tmp_path), "--dry-run"]) == 1
    report = json.loads((tmp_path / "device_check.json").read_text())
    assert [s["status"] for s in report["steps"]] == ["ok", "failed", "skipped"]
    assert report["steps"][0]["result"] == [1]
    assert report["dry_run"] is True and report["ok"] is False
    assert report["cuda_tests"] == {"tests": 2, "failures": 0, "errors": 0, "skipped": 0}
    assert device_check.main(["--out", str(tmp_path), "--only", "good", "later"]) == 0
    assert device_check.main(["--out", str(tmp_path), "--only", "nope"]) == 2


def test_the_shell_wrapper_lists_the_steps(tmp_path):
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "device_check.sh"), "--out", str(tmp_path), "--dry-run", "--list"],
        capture_output=True, text=True, env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}, check=True,
    )
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert names == ["build", "env", "cuda_tests", "trackers_cuda", "ops_tune", "batch_cuda", "cuda_graphs",
                           "prroi_cuda"]
    assert "[skip: dry run" in done.stdout.splitlines()[0]


def test_batch_step_tolerates_a_checkout_without_create_batch(monkeypatch):
    import torch

    import trackerzoo

    monkeypatch.delattr(trackerzoo, "create_batch", raising=False)
    assert bench.batch(torch.device("cpu"), quick=True)["status"] == "skipped"


def test_graph_step_times_eager_on_the_cpu():
    import torch

    result = bench.graphs(torch.device("cpu"), quick=True)
    assert set(result["ops"]) == {"dw_xcorr", "lut_affinity_softmax"}
    for row in result["ops"].values():
        assert row["eager_ms"] > 0 and row["graph"] == "CUDA graphs need a CUDA device"


def test_bench_refuses_a_cuda_device_it_does_not_have(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    with pytest.raises(SystemExit):
        bench.main(["graphs", "--device", "cuda", "--out", str(tmp_path / "g.json")])
    assert "no CUDA device is visible" in capsys.readouterr().err
