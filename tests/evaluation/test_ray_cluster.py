"""``trackerzoo eval --executor ray`` on a real two-node Ray cluster started on this machine.

The fixture starts a head node and a worker node (``ray start --block``, each in its own
process group and temp dir, one CPU each, on the loopback address ``HOST``) and kills
exactly those process groups afterwards; it never runs ``ray stop``, which would also stop
a user's own cluster. Every Python process of the cluster loads a ``sitecustomize`` guard
(an audit hook): opening, creating, renaming or deleting anything under the test's result
folders raises and is logged, so a task that wrote into ``--out`` fails the run and shows
in the log; reads under a "driver-only" folder raise too, which stands in for a dataset
that the nodes cannot see.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trackerzoo.cli.main import main
from trackerzoo.datasets import load_dataset
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset
from trackerzoo.evaluation.runner import RunContext, TrackerSpec, run_evaluation

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="the 'ray' package is not installed (the bootstrap installs requirements-ray.txt)"),
    pytest.mark.skipif(sys.platform != "linux", reason="finds the cluster's processes through /proc"),
]

GUARD = textwrap.dedent('''
    """Test guard loaded by every Python process of the test's Ray cluster (see test_ray_cluster.py)."""
    import os
    import sys

    _NO_WRITE = os.environ.get("TZ_TEST_NO_WRITE")
    _NO_READ = os.environ.get("TZ_TEST_NO_READ")
    _LOG = os.environ.get("TZ_TEST_GUARD_LOG")
    _DATA = os.environ.get("TZ_TEST_DATA")
    _NODE = os.environ.get("TZ_TEST_NODE", "?")
    _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


    def _inside(path, root):
        if not root or not isinstance(path, (str, bytes, os.PathLike)):
            return False
        path = os.path.abspath(os.fsdecode(path))
        return path == root or path.startswith(root + os.sep)


    def _record(kind, path):
        with open(_LOG, "a") as log:
            log.write(f"{kind} {_NODE} {os.getpid()} {os.fsdecode(path)}\\n")


    def _hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and _inside(path, _NO_WRITE):
                _record("WRITE", path)
                raise PermissionError(f"test guard: no write under {_NO_WRITE} from a Ray node: {path}")
            if not writing and _inside(path, _NO_READ):
                raise PermissionError(13, "Permission denied (test guard: driver-only data)", os.fsdecode(path))
            if not writing and _inside(path, _DATA):
                _record("READ", path)
        elif event in ("os.rename", "os.mkdir", "os.remove", "os.rmdir"):
            for path in args[:2] if event == "os.rename" else args[:1]:
                if _inside(path, _NO_WRITE):
                    _record("WRITE", path)
                    raise PermissionError(f"test guard: no {event} under {_NO_WRITE} from a Ray node: {path}")


    if _LOG:
        sys.addaudithook(_hook)
''')

STARTED = "Ray runtime started"
# A loopback address other than 127.0.0.1: Ray replaces "127.0.0.1" and "localhost" in an
# address by the machine's outward IP; this one it keeps, so all traffic stays on loopback.
HOST = "127.0.0.2"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # what a driver needs to join (PYTHONPATH, RAY_AUTH_MODE)
    folder: Path  # results go under folder/"outs" (no cluster process may write there)
    data: Path  # readable by every node
    driver_only: Path  # the nodes may not read here
    guard_log: Path


def _start_node(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    ray = Path(sys.executable).with_name("ray")
    command = [str(ray)] if ray.is_file() else [sys.executable, "-m", "ray.scripts.scripts"]
    with log.open("wb") as stream:
        return subprocess.Popen([*command, "start", "--block", "--disable-usage-stats", *arguments], env=env,
                                stdout=stream, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # its own process group: the teardown kills that group


def _wait_started(process: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while STARTED not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            output = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"ray start did not come up (exit {process.poll()}):\n{output}")
        time.sleep(0.5)


def _processes_mentioning(text: str) -> list[int]:
    """Pids of processes whose command line contains ``text`` (the cluster's own temp dirs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)  # the process group ``ray start`` leads: its raylet, GCS, workers


def _stop(processes: list[subprocess.Popen], temp_root: Path) -> None:
    """Stop the process groups started here (SIGTERM, then SIGKILL), then any straggler using our temp dir."""
    for process in reversed(processes):
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 3
    for process in reversed(processes):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.1, deadline - time.monotonic()))
        _signal_group(process, signal.SIGKILL)
        process.wait()
    for pid in _processes_mentioning(str(temp_root)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("ray_cluster")
    (folder / "guard").mkdir()
    (folder / "guard" / "sitecustomize.py").write_text(GUARD)
    (folder / "outs").mkdir()
    data, driver_only = folder / "data", folder / "driver_only"
    spec = DatasetSpec(sequences=4, frames=(20, 28), seed=23, procedural=True,
                       config=SceneConfig(frame_size=(160, 120), object_size=(50.0, 90.0)))
    build_dataset(spec, data, progress=False)
    shutil.copytree(data, driver_only)
    # Unix socket paths must stay short: the node temp dirs live directly under /tmp.
    temp_root = Path(tempfile.mkdtemp(prefix="tzray-"))
    guard_log = folder / "guard.log"
    guard_log.touch()
    driver_env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"}
    driver_env.pop("RAY_ADDRESS", None)
    node_env = {**driver_env,
                "PYTHONPATH": os.pathsep.join([str(folder / "guard"), os.environ.get("PYTHONPATH", "")]),
                "TZ_TEST_NO_WRITE": str(folder / "outs"), "TZ_TEST_NO_READ": str(driver_only),
                "TZ_TEST_DATA": str(data), "TZ_TEST_GUARD_LOG": str(guard_log)}
    port = _free_port()
    common = ["--node-ip-address", HOST, "--num-cpus", "1", "--num-gpus", "0",
              "--object-store-memory", str(80 * 1024 * 1024), "--dashboard-agent-listen-port", str(_free_port())]
    processes: list[subprocess.Popen] = []
    try:
        head_log = folder / "head.log"
        processes.append(_start_node(
            ["--head", "--port", str(port), "--temp-dir", str(temp_root / "head"), "--include-dashboard", "false",
             "--dashboard-port", str(_free_port()), "--ray-client-server-port", str(_free_port()), *common],
            {**node_env, "TZ_TEST_NODE": "head"}, head_log))
        _wait_started(processes[0], head_log)
        worker_log = folder / "worker.log"
        processes.append(_start_node(
            ["--address", f"{HOST}:{port}", "--temp-dir", str(temp_root / "worker"),
             "--include-log-monitor", "false", *common],
            {**node_env, "TZ_TEST_NODE": "worker"}, worker_log))
        _wait_started(processes[1], worker_log)
        yield Cluster(f"{HOST}:{port}", driver_env, folder, data, driver_only, guard_log)
    finally:
        _stop(processes, temp_root)
        assert _processes_mentioning(str(temp_root)) == [], "a process of the test cluster survived"
        shutil.rmtree(temp_root, ignore_errors=True)


def test_the_guard_blocks_and_logs_writes_under_the_result_folders(tmp_path):
    """The control for the cluster tests: a process with the guard cannot write under ``outs``."""
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    (tmp_path / "outs").mkdir()
    log = tmp_path / "guard.log"
    attempts = textwrap.dedent(f'''
        import os
        out = {str(tmp_path / "outs")!r}
        for attempt in (lambda: open(os.path.join(out, "a.txt"), "w"),
                        lambda: os.open(os.path.join(out, "b"), os.O_WRONLY | os.O_CREAT | os.O_EXCL),
                        lambda: os.mkdir(os.path.join(out, "c")),
                        lambda: os.replace({str(log)!r}, os.path.join(out, "d"))):
            try:
                attempt()
                print("written")
            except PermissionError:
                print("refused")
    ''')
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "guard"), "TZ_TEST_NO_WRITE": str(tmp_path / "outs"),
           "TZ_TEST_GUARD_LOG": str(log), "TZ_TEST_NODE": "probe"}
    result = subprocess.run([sys.executable, "-c", attempts], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["refused"] * 4, result.stderr
    assert list((tmp_path / "outs").iterdir()) == []
    assert [line.split()[:2] for line in log.read_text().splitlines()] == [["WRITE", "probe"]] * 4


@pytest.fixture(scope="module")
def local_results(cluster: Cluster) -> Path:
    """kcf over the cluster's data with the local executor: the reference files."""
    out = cluster.folder / "local"
    assert main(["eval", "--tracker", "kcf", "--dataset", f"synthetic:{cluster.data}", "--out", str(out),
                 "--no-progress", "--json"]) == 0
    return out


def _assert_same_results(ours: Path, reference: Path) -> None:
    """Every result file byte for byte; the time files have the same number of lines."""
    names = sorted(p.name for p in reference.iterdir() if p.name not in {"plot.png", "run.json"})
    assert names and sorted(p.name for p in ours.iterdir() if p.name not in {"plot.png", "run.json"}) == names
    for name in names:
        if name.endswith("_time.txt"):
            assert len((ours / name).read_text().splitlines()) == len((reference / name).read_text().splitlines())
        else:
            assert (ours / name).read_bytes() == (reference / name).read_bytes(), name


def test_cluster_eval_writes_on_the_driver_only_and_matches_local(cluster, local_results):
    out = cluster.folder / "outs" / "kcf"
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "trackerzoo.cli.main", "eval", "--tracker", "kcf", "--dataset",
         f"synthetic:{cluster.data}", "--out", str(out), "--executor", "ray", "--ray-address", cluster.address,
         "--ray-cpus", "1", "--no-progress", "--json"],
        env=cluster.env, capture_output=True, text=True, timeout=400)
    assert process.returncode == 0, process.stderr[-4000:]
    print(f"eval on the cluster: {time.monotonic() - started:.1f} s")
    _assert_same_results(out, local_results)
    guard = cluster.guard_log.read_text()
    assert "WRITE" not in guard, guard  # no cluster process touched --out: the driver wrote everything
    readers = {line.split()[1] for line in guard.splitlines() if line.startswith("READ ")}
    assert readers == {"head", "worker"}, guard  # both nodes read the dataset, i.e. ran tasks
    summary = re.search(r"ray: (\d+) tasks on (\d+) node\(s\)", process.stderr)
    assert summary and summary.groups() == ("4", "2"), process.stderr[-2000:]


def test_unreadable_dataset_names_node_and_path_and_ship_frames_runs_it(cluster, local_results, monkeypatch):
    import ray

    from trackerzoo.evaluation.runner_executors import DatasetNotReadableError, RayExecutor

    for key in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED"):
        monkeypatch.setenv(key, cluster.env[key])
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    tracker = TrackerSpec("kcf")
    try:
        blocked = RunContext(tracker, "synthetic", str(cluster.driver_only), str(cluster.folder / "outs" / "blocked"))
        with pytest.raises(DatasetNotReadableError) as error:
            run_evaluation(blocked, RayExecutor(cluster.address), progress=False)
        nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
        message = str(error.value)
        assert repr(str(cluster.driver_only)) in message and "--ship-frames" in message
        assert any(node in message for node in nodes), message

        shipped = cluster.folder / "outs" / "shipped"
        context = RunContext(tracker, "synthetic", str(cluster.driver_only), str(shipped))
        results = run_evaluation(context, RayExecutor(cluster.address, ship_frames=True), progress=False)
        assert sorted(r.job.sequence for r in results) == sorted(load_dataset("synthetic", cluster.data).names)
        assert {r.node for r in results} <= nodes
    finally:
        ray.shutdown()
    _assert_same_results(shipped, local_results)
    assert "WRITE" not in cluster.guard_log.read_text()
