"""``eval --batch N``: jobs fed through one batched tracker give the unbatched run's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trackerzoo import Prediction, Tracker
from trackerzoo.cli.main import main
from trackerzoo.datasets import dataset_kinds, load_dataset
from trackerzoo.evaluation import runner
from trackerzoo.evaluation.runner import Job, RunContext, TrackerSpec, run_evaluation
from trackerzoo.evaluation.runner_batch import JobGroup, group_jobs, run_job_group
from trackerzoo.evaluation.runner_executors import InlineExecutor
from trackerzoo.formats import results_io


def _files(out: Path) -> dict[str, str]:
    """Result files by name (time files and the run record left out)."""
    return {path.relative_to(out).as_posix(): path.read_text() for path in sorted(out.rglob("*.txt"))
            if not path.name.endswith("_time.txt")}


def _context(kind: str, root: Path, out: Path, batch: int) -> RunContext:
    return RunContext(TrackerSpec("kcf"), kind, str(root), str(out), batch=batch)


@pytest.mark.parametrize("batch", [2, 3, 8])
def test_batched_ope_run_writes_the_unbatched_files(small_set, tmp_path, batch):
    plain, batched = tmp_path / "plain", tmp_path / "batched"
    run_evaluation(_context("synthetic", small_set, plain, 1), InlineExecutor(), progress=False)
    results = run_evaluation(_context("synthetic", small_set, batched, batch), InlineExecutor(), progress=False)
    dataset = load_dataset("synthetic", small_set)
    assert sorted(result.job.sequence for result in results) == sorted(dataset.names)
    assert _files(batched) == _files(plain) and len(_files(plain)) == len(dataset.names)
    for sequence in dataset:
        times = results_io.read_times(results_io.box_time_path(batched, sequence.name))
        assert times.shape == (len(sequence),) and (times >= 0).all()
    assert run_evaluation(_context("synthetic", small_set, batched, batch), InlineExecutor(), progress=False) == []


@pytest.mark.skipif("vot" not in dataset_kinds(), reason="VOT loader not available")
def test_batched_vot_anchor_runs_write_the_unbatched_files(small_set, tmp_path):
    plain, batched = tmp_path / "plain", tmp_path / "batched"
    run_evaluation(_context("vot", small_set / "vot", plain, 1), InlineExecutor(), progress=False)
    run_evaluation(_context("vot", small_set / "vot", batched, 3), InlineExecutor(), progress=False)
    files = _files(plain)
    assert files and _files(batched) == files


def test_eval_cli_batch_option(small_set, tmp_path, capsys):
    plain, batched = tmp_path / "plain", tmp_path / "batched"
    for out, extra in ((plain, []), (batched, ["--batch", "4"])):
        assert main(["eval", "--tracker", "kcf", "--dataset", f"synthetic:{small_set}", "--out", str(out),
                     "--no-progress", "--json", *extra]) == 0
        capsys.readouterr()
    assert _files(batched) == _files(plain)
    assert main(["eval", "--tracker", "kcf", "--dataset", f"synthetic:{small_set}", "--out", str(tmp_path / "x"),
                 "--batch", "0"]) != 0
    assert "--batch must be >= 1, got 0" in capsys.readouterr().err


def test_groups_share_the_frames_longest_first():
    jobs = [Job(name, frames) for name, frames in (("a", 3), ("b", 9), ("c", 5), ("d", 7), ("e", 1))]
    groups = group_jobs(jobs, 2)
    assert [[job.sequence for job in group.jobs] for group in groups] == [["b", "c", "e"], ["d", "a"]]
    assert [group.frames for group in groups] == [15, 10]
    assert len(group_jobs(jobs[:1], 4)) == 1  # no empty groups
    with pytest.raises(ValueError, match="job groups must be >= 1, got 0"):
        group_jobs(jobs, 0)


class Stepper(Tracker):
    """Moves its box one pixel right per frame; fails on a frame whose pixels are 99."""

    def _initialize(self, frame, box, mask):
        self.box = box

    def _track(self, frame):
        if frame[0, 0, 0] == 99:
            raise RuntimeError("bad frame")
        x, y, w, h = self.box
        self.box = (x + 1.0, y, w, h)
        return Prediction(self.box, 1.0)


class FakeSequence:
    def __init__(self, name: str, length: int, bad: int | None = None) -> None:
        self.name, self.length, self.bad = name, length, bad
        self.boxes = np.array([[2.0, 3.0, 6.0, 5.0]] * length)
        self.has_masks = False

    def __len__(self) -> int:
        return self.length

    def frame(self, index: int) -> np.ndarray:
        return np.full((20, 24, 3), 99 if index == self.bad else index, dtype=np.uint8)


def _fake_context(monkeypatch, tmp_path, sequences) -> RunContext:
    spec = TrackerSpec(f"{__name__}:Stepper")
    monkeypatch.setitem(runner._datasets, ("fake", "root", ()), {s.name: s for s in sequences})
    return RunContext(spec, "fake", "root", str(tmp_path), batch=2)


def test_single_frame_jobs_finish_at_once(monkeypatch, tmp_path):
    sequences = [FakeSequence("one", 1), FakeSequence("four", 4), FakeSequence("also_one", 1)]
    context = _fake_context(monkeypatch, tmp_path, sequences)
    group = JobGroup(tuple(Job(s.name, len(s)) for s in sequences))
    result = run_job_group(context, group)
    assert sorted(r.job.sequence for r in result.results) == ["also_one", "four", "one"]
    assert result.job is group
    boxes = results_io.read_box_file(results_io.box_result_path(tmp_path, "four"))
    np.testing.assert_array_equal(boxes[:, 0], [2.0, 3.0, 4.0, 5.0])
    assert results_io.read_box_file(results_io.box_result_path(tmp_path, "one")).shape == (1, 4)


def test_a_failing_sequence_is_named(monkeypatch, tmp_path):
    sequences = [FakeSequence("fine", 3), FakeSequence("broken", 5, bad=2)]
    context = _fake_context(monkeypatch, tmp_path, sequences)
    with pytest.raises(RuntimeError, match=r"'broken'.*in a batch of 2 failed: RuntimeError: bad frame"):
        run_job_group(context, JobGroup(tuple(Job(s.name, len(s)) for s in sequences)))
