"""The evaluation runner end to end on procedural data with a small real tracker."""

from __future__ import annotations

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
            return Prediction(tuple(self.box), best)
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


def test_unknown_executor_and_missing_ray():
    with pytest.raises(ValueError, match="threads"):
        make_executor("threads")
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pip install"):
            make_executor("ray")


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
    local, remote = tmp_path / "local", tmp_path / "ray"
    run_evaluation(_context(small_set, local), InlineExecutor(), progress=False)
    run_evaluation(_context(small_set, remote), make_executor("ray"), progress=False)
    for sequence in load_dataset("synthetic", small_set):
        assert (results_io.box_result_path(remote, sequence.name).read_text()
                == results_io.box_result_path(local, sequence.name).read_text())
    ray.shutdown()


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
