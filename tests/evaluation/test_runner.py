"""The evaluation runner end to end on procedural data with a small real tracker."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from trackerzoo.cli.main import main
from trackerzoo.datasets import dataset_kinds, load_dataset
from trackerzoo.evaluation.runner import RunContext, TrackerSpec, parse_dataset_spec, run_evaluation
from trackerzoo.evaluation.runner_executors import InlineExecutor, make_executor
from trackerzoo.formats import results_io

# A deterministic template-matching tracker, written to a module file so that worker
# processes (spawned) and subprocesses can import it as ``tz_template_tracker``.
TRACKER_SOURCE = textwrap.dedent('''
    import dataclasses
    import time

    import cv2
    import numpy as np

    from trackerzoo import Prediction, Tracker


    @dataclasses.dataclass
    class Params:
        search: float = 2.0
        delay: float = 0.0
        rotated: bool = False  # also report the box's four corners as a rotated box


    class TemplateTracker(Tracker):
        """Normalised cross-correlation of the first frame's patch in a window around the last box."""

        Params = Params

        def _initialize(self, frame, box, mask):
            x, y, w, h = (int(round(v)) for v in box)
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            self.template = gray[y:y + max(h, 2), x:x + max(w, 2)].copy()
            self.box = np.array([x, y, self.template.shape[1], self.template.shape[0]], dtype=float)

        def _track(self, frame):
            if self.params.delay:
                time.sleep(self.params.delay)
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            x, y, w, h = self.box
            margin_x, margin_y = w * self.params.search / 2, h * self.params.search / 2
            left, top = int(max(0, x - margin_x)), int(max(0, y - margin_y))
            right = int(min(gray.shape[1], x + w + margin_x))
            bottom = int(min(gray.shape[0], y + h + margin_y))
            window = gray[top:bottom, left:right]
            th, tw = self.template.shape
            if window.shape[0] < th or window.shape[1] < tw:
                return Prediction(tuple(self.box), 0.0)
            scores = cv2.matchTemplate(window, self.template, cv2.TM_CCOEFF_NORMED)
            _, best, _, (bx, by) = cv2.minMaxLoc(scores)
            self.box = np.array([left + bx, top + by, tw, th], dtype=float)
            corners = None
            if self.params.rotated:
                x, y, w, h = self.box
                # The toolkit's polygon raster includes the far edge: these corners cover the box's pixels.
                corners = np.array([[x, y], [x + w - 1, y], [x + w - 1, y + h - 1], [x, y + h - 1]])
            return Prediction(tuple(self.box), best, rotated_box=corners)
''')
TRACKER = "tz_template_tracker:TemplateTracker"


@pytest.fixture(scope="session")
def tracker_module(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tracker_module")
    (folder / "tz_template_tracker.py").write_text(TRACKER_SOURCE)
    sys.path.insert(0, str(folder))
    return folder


def _context(root: Path, out: Path, **params) -> RunContext:
    return RunContext(TrackerSpec(TRACKER, params), "synthetic", str(root), str(out))


def test_dataset_spec_parsing():
    assert parse_dataset_spec("synthetic:/a/b") == ("synthetic", Path("/a/b"))
    with pytest.raises(ValueError, match="nokind"):
        parse_dataset_spec("nokind")


def test_run_writes_complete_results_and_times(tracker_module, small_set, tmp_path):
    out = tmp_path / "run"
    results = run_evaluation(_context(small_set, out), InlineExecutor(), progress=False)
    dataset = load_dataset("synthetic", small_set)
    assert sorted(r.job.sequence for r in results) == sorted(dataset.names)
    for sequence in dataset:
        boxes = results_io.read_box_file(results_io.box_result_path(out, sequence.name))
        assert boxes.shape == (len(sequence), 4)
        np.testing.assert_array_equal(boxes[0], sequence.boxes[0])  # initialised with the ground truth
        times = results_io.read_times(results_io.box_time_path(out, sequence.name))
        assert times.shape == (len(sequence),) and (times >= 0).all()
    # A second run finds everything done and runs nothing.
    assert run_evaluation(_context(small_set, out), InlineExecutor(), progress=False) == []
    with pytest.raises(ValueError, match="different run"):
        run_evaluation(_context(small_set, out, search=3.0), InlineExecutor(), progress=False)


def test_eval_cli_table_json_and_plot(tracker_module, small_set, tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["eval", "--tracker", TRACKER, "--dataset", f"synthetic:{small_set}", "--out", str(first),
                 "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "| Tracker | ao | sr50 | sr75 | auc | precision | norm_precision | fps | init_s |" in table
    assert main(["eval", "--tracker", TRACKER, "--set", "search=1.0", "--dataset", f"synthetic:{small_set}",
                 "--out", str(second), "--compare", str(first), "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [Path(r["folder"]) for r in report["runs"]] == [second, first]
    for run in report["runs"]:
        assert 0.0 <= run["ao"] <= 1.0 and 0.0 <= run["auc"] <= 1.0 and 0.0 <= run["precision"] <= 1.0
        assert run["fps"] > 0 and run["init_s"] > 0
    assert Path(report["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scores_are_perfect_for_ground_truth_results(tracker_module, small_set, tmp_path):
    """Writing the ground truth itself as a result must give AO = SR = 1 (visible frames)."""
    from trackerzoo.evaluation.runner_scoring import score_folder

    dataset = load_dataset("synthetic", small_set)
    for sequence in dataset:
        boxes = sequence.boxes.copy()
        results_io.write_box_file(results_io.box_result_path(tmp_path, sequence.name), boxes)
    scored = score_folder(tmp_path, dataset, "synthetic")
    assert scored.metrics["ao"] == pytest.approx(1.0)
    assert scored.metrics["sr75"] == pytest.approx(1.0)
    assert math.isnan(scored.metrics["fps"]) and math.isnan(scored.metrics["init_s"])  # no time files


@pytest.mark.skipif("vot" not in dataset_kinds(), reason="VOT loader not available")
def test_vot_protocol_runs_every_anchor(tracker_module, small_set, tmp_path, capsys):
    out = tmp_path / "vot"
    assert main(["eval", "--tracker", TRACKER, "--dataset", f"vot:{small_set / 'vot'}", "--out", str(out),
                 "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    dataset = load_dataset("vot", small_set / "vot")
    for sequence in dataset:
        for anchor in sequence.anchors:
            regions = results_io.read_region_file(results_io.vot_result_path(out, sequence.name, anchor))
            assert len(regions) == len(sequence) - anchor
    assert 0.0 <= report["runs"][0]["eao"] <= 1.0


@pytest.mark.skipif("vot" not in dataset_kinds(), reason="VOT loader not available")
def test_vot_region_rotated_writes_polygons_scored_like_the_boxes(tracker_module, small_set, tmp_path, capsys):
    """``--vot-region rotated`` writes rotated boxes as polygons; one covering the box's pixels scores as the box."""
    from trackerzoo.formats.regions import Polygon, Rectangle

    root = f"vot:{small_set / 'vot'}"
    boxes, rotated = tmp_path / "boxes", tmp_path / "rotated"
    assert main(["eval", "--tracker", TRACKER, "--dataset", root, "--out", str(boxes), "--no-progress",
                 "--json", "--vot-region", "rectangle"]) == 0
    by_box = json.loads(capsys.readouterr().out)["runs"][0]
    assert main(["eval", "--tracker", TRACKER, "--set", "rotated=true", "--dataset", root, "--out", str(rotated),
                 "--no-progress", "--json", "--vot-region", "rotated"]) == 0
    by_polygon = json.loads(capsys.readouterr().out)["runs"][0]
    sequence = load_dataset("vot", small_set / "vot")[0]
    regions = results_io.read_region_file(results_io.vot_result_path(rotated, sequence.name, 0))
    assert all(isinstance(region, Polygon) and region.points.shape == (4, 2) for region in regions[1:])
    rectangles = results_io.read_region_file(results_io.vot_result_path(boxes, sequence.name, 0))
    assert all(isinstance(region, Rectangle) for region in rectangles[1:])
    for key in ("eao", "accuracy", "robustness"):
        assert by_polygon[key] == pytest.approx(by_box[key], abs=1e-9), key
    assert json.loads((rotated / "run.json").read_text())["vot_region"] == "rotated"
    # The same folder with another region mode is another run: refused, results kept.
    before = sorted(p.name for p in rotated.rglob("*.txt"))
    assert main(["eval", "--tracker", TRACKER, "--set", "rotated=true", "--dataset", root, "--out", str(rotated),
                 "--no-progress"]) == 2
    assert "vot_region" in capsys.readouterr().err
    assert sorted(p.name for p in rotated.rglob("*.txt")) == before


def test_vot_region_choice_is_checked(tracker_module, small_set, tmp_path):
    with pytest.raises(ValueError, match="VOT-layout datasets only"):
        RunContext(TrackerSpec(TRACKER, {}), "synthetic", str(small_set), str(tmp_path), vot_region="rotated")
    with pytest.raises(ValueError, match="'ellipse'"):
        RunContext(TrackerSpec(TRACKER, {}), "vot", str(small_set / "vot"), str(tmp_path), vot_region="ellipse")


def test_vot_region_of_a_prediction():
    from trackerzoo import Prediction
    from trackerzoo.evaluation.runner import vot_region
    from trackerzoo.formats.regions import Mask, Polygon, Rectangle

    mask = np.zeros((6, 8), dtype=bool)
    mask[1:4, 2:5] = True
    corners = np.array([[2.0, 1.0], [5.0, 1.5], [4.5, 4.0], [1.5, 3.5]])
    prediction = Prediction((2, 1, 3, 3), 0.9, mask=mask, rotated_box=corners)
    assert isinstance(vot_region(prediction), Mask)
    assert vot_region(prediction, "rectangle") == Rectangle(2.0, 1.0, 3.0, 3.0)
    assert vot_region(prediction, "rotated") == Polygon(corners)
    # No rotated box, or a non-finite one (an empty mask's): the axis-aligned box.
    assert vot_region(Prediction((2, 1, 3, 3), 0.9), "rotated") == Rectangle(2.0, 1.0, 3.0, 3.0)
    nan_corners = np.full((4, 2), np.nan)
    assert vot_region(Prediction((2, 1, 3, 3), 0.9, rotated_box=nan_corners), "rotated") == Rectangle(2, 1, 3, 3)
    with pytest.raises(ValueError, match="'polygon'"):
        vot_region(prediction, "polygon")


def test_unknown_executor_and_missing_ray():
    with pytest.raises(ValueError, match="threads"):
        make_executor("threads")
    with pytest.raises(ValueError, match="--executor ray"):
        make_executor("local", ray_gpus=0.5)
    with pytest.raises(ValueError, match="--executor ray"):
        make_executor("local", 2, ship_frames=True)
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pip install"):
            make_executor("ray")


def test_ray_resources_are_checked_before_ray_is_needed():
    for cpus, gpus, match in ((-1, 0, "--ray-cpus must be a number >= 0, got -1.0"),
                              (1, 1.5, "--ray-gpus must be a fraction below 1 or a whole number"),
                              (0, 0, "both 0"), (float("nan"), 0, "--ray-cpus")):
        with pytest.raises(ValueError, match=match):
            make_executor("ray", ray_cpus=cpus, ray_gpus=gpus)


def test_job_outputs_are_written_like_the_workers_write_them(tmp_path):
    """The driver's writer (Ray) gives the bytes ``results_io`` gives, masks as RLE lines."""
    from trackerzoo.evaluation.runner import Job, JobOutput, write_job_output
    from trackerzoo.formats.regions import INITIALIZATION, Mask, Rectangle, format_region

    boxes = np.array([[1, 2, 30, 40], [1.25, 2.5, 30.125, np.nan]])
    write_job_output(tmp_path / "ray", JobOutput(Job("seq", 2), (0.01, 0.002), 0.5, boxes=boxes))
    results_io.write_box_file(tmp_path / "ref" / "seq.txt", boxes)
    results_io.write_times(tmp_path / "ref" / "seq_time.txt", (0.01, 0.002))
    for name in ("seq.txt", "seq_time.txt"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()

    mask = np.zeros((12, 16), dtype=bool)
    mask[3:7, 5:9] = True
    regions = [INITIALIZATION, Mask(mask), Rectangle(2, 3, 4.5, 6)]
    job = Job("vot_seq", 3, anchor=4)
    write_job_output(tmp_path / "ray", JobOutput(job, (0.1, 0.2, 0.3), 1.0,
                                                 regions=tuple(format_region(r) for r in regions)))
    results_io.write_region_file(tmp_path / "ref" / "vot.txt", regions)
    assert job.result_path(tmp_path / "ray").read_bytes() == (tmp_path / "ref" / "vot.txt").read_bytes()
    assert job.result_path(tmp_path / "ray").read_text().splitlines()[1].startswith("m5,3,4,4,")
    assert results_io.read_times(job.time_path(tmp_path / "ray")).tolist() == [0.1, 0.2, 0.3]
    with pytest.raises(ValueError, match="exactly one of boxes and regions"):
        write_job_output(tmp_path / "bad", JobOutput(job, (), 0.0))


def test_shipped_sequence_gives_the_job_the_same_predictions(tracker_module, small_set, tmp_path):
    from trackerzoo.evaluation.runner import plan_jobs, track_job
    from trackerzoo.evaluation.runner_executors import ship_sequence

    for kind, root in (("synthetic", small_set), ("vot", small_set / "vot")):
        if kind not in dataset_kinds():
            continue
        dataset = load_dataset(kind, root)
        context = RunContext(TrackerSpec(TRACKER), kind, str(root), str(tmp_path / kind))
        job = plan_jobs(context, dataset)[-1]
        shipped = ship_sequence(dataset[job.sequence])
        frame = shipped.frame(0)
        frame[:] = 0  # a copy: the shipped frames stay as they were
        assert shipped.frame(0).any()
        ours, reference = track_job(context, job, sequence=shipped), track_job(context, job)
        assert ours.regions == reference.regions and ours.times and len(ours.times) == len(reference.times)
        if ours.boxes is not None:
            np.testing.assert_array_equal(ours.boxes, reference.boxes)


# --------------------------------------------------------------------------- resume

def _finished(out: Path, names: list[str]) -> list[str]:
    return [name for name in names if results_io.box_result_path(out, name).is_file()]


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_killed_run_resumes_to_identical_results(tracker_module, small_set, tmp_path):
    dataset = load_dataset("synthetic", small_set)
    names = dataset.names
    args = ["eval", "--tracker", TRACKER, "--set", "delay=0.03", "--dataset", f"synthetic:{small_set}",
            "--no-progress"]

    reference = tmp_path / "reference"
    assert main([*args, "--out", str(reference)]) == 0

    interrupted = tmp_path / "interrupted"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tracker_module), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen([sys.executable, "-m", "trackerzoo.cli.main", *args, "--out", str(interrupted),
                                "--workers", "2"], env=environment, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    try:
        while not _finished(interrupted, names):
            if process.poll() is not None:
                pytest.fail(f"eval exited before it could be killed: {process.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("no sequence finished within 180 s")
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its worker processes
        process.wait()
    done_at_kill = _finished(interrupted, names)
    assert 0 < len(done_at_kill) < len(names), "the kill must land mid-run"
    for name in done_at_kill:  # whatever is there is complete
        assert results_io.read_box_file(results_io.box_result_path(interrupted, name)).shape == (
            len(dataset[name]), 4)

    assert main([*args, "--out", str(interrupted)]) == 0
    for name in names:
        ours = results_io.box_result_path(interrupted, name).read_text()
        assert ours == results_io.box_result_path(reference, name).read_text()
        times = results_io.read_times(results_io.box_time_path(interrupted, name))
        assert times.shape == (len(dataset[name]),) and np.isfinite(times).all()
    leftovers = [p.name for p in interrupted.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_ray_executor_matches_local(tracker_module, small_set, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    # Ray workers are new interpreters: they find the test tracker through PYTHONPATH.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tracker_module), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # no token file in the home folder
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    local, remote = tmp_path / "local", tmp_path / "ray"
    run_evaluation(_context(small_set, local), InlineExecutor(), progress=False)
    # A small local instance on a loopback address (Ray would pick the machine's outward IP).
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.3", log_to_driver=False)
    try:
        results = run_evaluation(_context(small_set, remote), make_executor("ray"), progress=False)
        assert {r.node for r in results} == {ray.get_runtime_context().get_node_id()}
    finally:
        ray.shutdown()
    for sequence in load_dataset("synthetic", small_set):
        assert (results_io.box_result_path(remote, sequence.name).read_text()
                == results_io.box_result_path(local, sequence.name).read_text())


def test_run_labels_name_what_differs_from_the_defaults(tmp_path):
    from trackerzoo.evaluation.runner_scoring import run_label

    def record(name: str, **run) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"tracker": "cract", "variant": None, "weights": "default",
                                                     "params": {}, **run}))
        return folder

    assert run_label(record("plain")) == "cract"
    assert run_label(record("ablated", params={"use_discriminator": False})) == "cract (use_discriminator=False)"
    assert run_label(record("other", variant="mobilenetv2-single-level", weights="/runs/x/model.safetensors")) == (
        "cract (variant=mobilenetv2-single-level, weights=x/model.safetensors)"
    )
    assert run_label(record("named", weights="cract_mobilenetv2")) == "cract (weights=cract_mobilenetv2)"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("not json")
    assert run_label(broken) == "broken"
    assert run_label(tmp_path / "missing") == "missing"


# --------------------------------------------------------------------------- progress in frames

def test_a_job_reports_its_frames_while_it_runs(tracker_module, small_set, tmp_path, monkeypatch):
    from trackerzoo.evaluation import runner
    from trackerzoo.evaluation.runner import plan_jobs, run_job

    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.0)  # report every frame
    for kind, root in (("synthetic", small_set), ("vot", small_set / "vot")):
        if kind not in dataset_kinds():
            continue
        context = RunContext(TrackerSpec(TRACKER), kind, str(root), str(tmp_path / kind))
        job = plan_jobs(context, load_dataset(kind, root))[0]
        reports: list[tuple[object, int]] = []
        run_job(context, job, lambda j, n, into=reports: into.append((j, n)))
        assert len(reports) == job.frames, kind  # one report per frame, not one per sequence
        assert {j for j, _ in reports} == {job} and sum(n for _, n in reports) == job.frames


def test_eval_progress_bar_counts_frames(tracker_module, small_set, tmp_path, capsys):
    dataset = load_dataset("synthetic", small_set)
    frames = sum(len(sequence) for sequence in dataset)
    run_evaluation(_context(small_set, tmp_path / "run"), InlineExecutor(), progress=True)
    bar = capsys.readouterr().err
    assert f"{frames}/{frames}" in bar and "frame" in bar


def test_worker_processes_report_frames_before_their_jobs_end(tracker_module, small_set, tmp_path):
    from trackerzoo.evaluation.runner import plan_jobs, run_job
    from trackerzoo.evaluation.runner_executors import LocalProcessExecutor

    context = _context(small_set, tmp_path / "pool", delay=0.02)  # ~0.5 s a sequence: several reports each
    jobs = plan_jobs(context, load_dataset("synthetic", small_set))[:2]
    events: list[tuple[str, object, int]] = []
    for result in LocalProcessExecutor(2).run(run_job, context, jobs, lambda j, n: events.append(("frames", j, n))):
        events.append(("done", result.job, 0))
    for job in jobs:
        mine = [(kind, n) for kind, j, n in events if j == job]
        assert mine[-1][0] == "done" and mine[0][0] == "frames", mine  # progress came before the end
        assert 0 < sum(n for kind, n in mine if kind == "frames") <= job.frames


# --------------------------------------------------------------------------- clean-up (issue #20, item 10)

def _spawned_workers(parent: int) -> list[int]:
    """PIDs of the multiprocessing workers whose parent is ``parent`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_their_parent(tracker_module, small_set, tmp_path):
    """Killing the parent of `eval --workers 2` (SIGKILL, no clean-up possible) ends its workers."""
    dataset = load_dataset("synthetic", small_set)
    out = tmp_path / "orphans"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tracker_module), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen([sys.executable, "-m", "trackerzoo.cli.main", "eval", "--tracker", TRACKER,
                                "--set", "delay=0.05", "--dataset", f"synthetic:{small_set}", "--out", str(out),
                                "--workers", "2", "--no-progress"], env=environment, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while not _finished(out, dataset.names):  # the workers are up and working
            if process.poll() is not None:
                pytest.fail(f"eval exited before it could be killed: {process.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("no sequence finished within 180 s")
            time.sleep(0.05)
        workers = _spawned_workers(process.pid)
        assert len(workers) == 2
        process.kill()  # the parent only
        process.wait()
        deadline = time.monotonic() + 5
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _running(pid)], "workers outlived their parent"
    finally:
        for pid in {*workers, *_spawned_workers(process.pid), process.pid}:  # whatever survived
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


def _eval(small_set: Path, out: Path, *extra: str) -> list[str]:
    return ["eval", "--tracker", TRACKER, "--dataset", f"synthetic:{small_set}", "--out", str(out),
            "--no-progress", *extra]


@pytest.mark.parametrize(("bad", "message"), [
    (["--set", "nosuch=1"], "unknown parameter"),
    (["--set", "search=3.0", "--sequences", "nosuch"], "nosuch"),
    (["--tracker", "tz_template_tracker:Nothing"], "cannot import"),
])
def test_a_typo_does_not_lock_the_output_folder(tracker_module, small_set, tmp_path, capsys, bad, message):
    """run.json is written only once the dataset, the tracker and its parameters are checked."""
    out = tmp_path / "run"
    assert main([*_eval(small_set, out), *bad]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
    assert not out.exists()
    assert main(_eval(small_set, out, "--sequences", load_dataset("synthetic", small_set).names[0])) == 0
    assert json.loads((out / "run.json").read_text())["params"] == {}


def test_a_missing_dataset_does_not_lock_the_output_folder(tracker_module, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["eval", "--tracker", TRACKER, "--dataset", f"synthetic:{tmp_path / 'nosuch'}", "--out", str(out),
                 "--no-progress"]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert not out.exists()


def test_out_that_is_a_file_is_a_one_line_error(tracker_module, small_set, tmp_path, capsys):
    file = tmp_path / "results.txt"
    file.write_text("mine\n")
    for out in (file, file / "below"):
        assert main(_eval(small_set, out)) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and "is a file, not a folder" in error and str(file) in error
    assert file.read_text() == "mine\n"


def test_out_that_cannot_be_written_is_a_one_line_error(tracker_module, small_set, tmp_path, capsys, monkeypatch):
    """A read-only --out: simulated (root ignores permission bits), then for real when not root."""
    import errno

    from trackerzoo.evaluation import runner

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(runner.tempfile, "mkstemp", refuse)
        assert main(_eval(small_set, tmp_path / "ro")) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "cannot be written: Permission denied" in error
    assert not (tmp_path / "ro" / "run.json").exists()
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            assert main(_eval(small_set, locked / "out")) == 2
            assert "cannot be written" in capsys.readouterr().err
        finally:
            locked.chmod(0o700)


def test_eval_json_writes_null_for_a_score_that_is_not_a_number(tracker_module, small_set, tmp_path, capsys):
    """A compared folder without time files has no FPS: JSON null, never the non-JSON ``NaN``."""
    import shutil

    first, untimed = tmp_path / "first", tmp_path / "untimed"
    assert main(_eval(small_set, first)) == 0
    shutil.copytree(first, untimed)
    for path in untimed.glob("*_time.txt"):
        path.unlink()
    capsys.readouterr()
    assert main([*_eval(small_set, first), "--compare", str(untimed), "--json"]) == 0

    def refuse(constant: str) -> float:
        raise AssertionError(f"non-JSON constant {constant} in the output")

    report = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert report["runs"][1]["fps"] is None and report["runs"][0]["fps"] > 0
