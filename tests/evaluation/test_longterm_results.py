"""Result files of long-term runs (presence, confidence, VOT-LT runs) and their scoring (issue #22)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.evaluation.benchmark import score_results
from trackerzoo.evaluation.runner import Job, JobOutput, write_job_output
from trackerzoo.evaluation.runner_scoring import score_folder
from trackerzoo.formats import results_io
from trackerzoo.formats.regions import INITIALIZATION, UNKNOWN, Rectangle

LENGTH = 70
ABSENT = range(20, 35)


def test_presence_and_confidence_files_beside_the_boxes(tmp_path):
    boxes = np.tile([1.0, 2.0, 3.0, 4.0], (4, 1))
    output = JobOutput(Job("seq", 4), (0.1, 0.2, 0.2, 0.2), 0.7, boxes=boxes,
                       present=(True, True, False, True), confidence=(math.nan, 0.9, 0.1, 0.8))
    write_job_output(tmp_path, output)
    assert (tmp_path / "seq_present.value").read_text() == "1\n1\n0\n1\n"
    assert (tmp_path / "seq_confidence.value").read_text() == "\n0.900000\n0.100000\n0.800000\n"
    np.testing.assert_array_equal(results_io.read_presence(tmp_path / "seq_present.value"), [1, 1, 0, 1])
    np.testing.assert_array_equal(results_io.read_box_file(tmp_path / "seq.txt"), boxes)  # a box on every line
    (tmp_path / "bad_present.value").write_text("1\n2\n")
    with pytest.raises(ValueError, match=r"line 2 .* is not 0 or 1"):
        results_io.read_presence(tmp_path / "bad_present.value")


def test_vot_lt_run_reads_back_in_vot_toolkit(tmp_path):
    results = pytest.importorskip("vot.tracker.results")
    from vot.region import Special
    from vot.workspace.storage import LocalStorage

    regions = [INITIALIZATION, Rectangle(1, 2, 3, 4), UNKNOWN, Rectangle(5, 6, 7, 8)]
    path = results_io.write_vot_lt_run(tmp_path, "seq", regions, [math.nan, 0.9, 0.2, 0.7])
    assert path == tmp_path / "seq" / "seq_001.txt"
    assert path.read_text() == "1\n1,2,3,4\n0\n5,6,7,8\n"
    trajectory = results.Trajectory.read(results.Results(LocalStorage(str(tmp_path / "seq"))), "seq_001")
    read = trajectory.regions()
    assert isinstance(read[0], Special) and read[0].code == 1 and isinstance(read[2], Special) and read[2].code == 0
    assert read[3].x == 5 and read[3].height == 8
    assert [trajectory.properties(i).get("confidence", 0) for i in range(4)] == [0, 0.9, 0.2, 0.7]
    with pytest.raises(ValueError, match="4 regions for 3 confidences"):
        results_io.write_vot_lt_run(tmp_path, "seq", regions, [0.0] * 3)


def _dataset() -> Dataset:
    truth = np.tile([10.0, 10.0, 20.0, 20.0], (LENGTH, 1))
    visible = np.ones(LENGTH, dtype=bool)
    visible[list(ABSENT)] = False
    truth[list(ABSENT)] = np.nan
    frames = np.zeros((LENGTH, 48, 64, 3), np.uint8)
    return Dataset("lt", [Sequence("seq", frames, truth, visible=visible)])


def _write(folder, present: np.ndarray, confidence: np.ndarray, boxes: np.ndarray) -> None:
    results_io.write_box_file(results_io.box_result_path(folder, "seq"), boxes)
    results_io.write_presence(results_io.presence_path(folder, "seq"), present)
    results_io.write_values(results_io.confidence_path(folder, "seq"), confidence)


def test_long_term_metrics_reward_saying_absent_and_coming_back(tmp_path):
    dataset = _dataset()
    on_target = np.tile([10.0, 10.0, 20.0, 20.0], (LENGTH, 1))
    # long-term: absent while the target is, back on it afterwards, confident only when right
    present = np.ones(LENGTH, dtype=bool)
    present[list(ABSENT)] = False
    confidence = np.where(present, 0.9, 0.1)
    confidence[0] = math.nan
    _write(tmp_path / "lt", present, confidence, on_target)
    # short-term: claims the target everywhere and drifts to a corner after the exit
    drift = on_target.copy()
    drift[ABSENT.start:] = [40.0, 30.0, 20.0, 15.0]
    _write(tmp_path / "st", np.ones(LENGTH, dtype=bool), np.r_[math.nan, np.full(LENGTH - 1, 0.9)], drift)
    lt = score_folder(tmp_path / "lt", dataset, "synthetic").metrics
    st = score_folder(tmp_path / "st", dataset, "synthetic").metrics
    # recall: the 54 visible frames, frame 0 (the initialisation) scoring 0; precision 1 on reported frames
    assert lt["lt_precision"] == pytest.approx(1.0) and lt["lt_recall"] == pytest.approx(54 / 55)
    assert lt["re_entry"] == 1.0 and st["re_entry"] == 0.0
    assert lt["lt_f"] > st["lt_f"]
    assert lt["auc_present"] == pytest.approx(20 / 21)  # absent frames left out: every scored frame right
    assert lt["auc"] < lt["auc_present"]  # the LaSOT rule counts them as failures
    for protocol in ("ope", "got10k"):  # eval-results: the same numbers
        report = score_results(dataset, tmp_path / "lt", protocol)
        assert all(report[key] == pytest.approx(lt[key]) for key in ("lt_precision", "lt_recall", "lt_f",
                                                                        "re_entry", "auc_present"))
    # a folder without presence files (an old run) scores every frame as reported
    (tmp_path / "lt" / "seq_present.value").unlink()
    (tmp_path / "lt" / "seq_confidence.value").unlink()
    assert score_folder(tmp_path / "lt", dataset, "synthetic").metrics["lt_precision"] < 1.0


def test_batched_run_writes_the_unbatched_presence_files(tmp_path):
    from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset
    from trackerzoo.evaluation.runner import RunContext, TrackerSpec, run_evaluation
    from trackerzoo.evaluation.runner_executors import InlineExecutor

    pytest.importorskip("trackerzoo_opencv")
    spec = DatasetSpec(sequences=2, frames=(8, 12), seed=5, procedural=True,
                       config=SceneConfig(frame_size=(96, 72), object_size=(16.0, 24.0)))
    root = build_dataset(spec, tmp_path / "data", progress=False)
    for batch, name in ((1, "plain"), (2, "batched")):
        context = RunContext(TrackerSpec("kcf"), "synthetic", str(root), str(tmp_path / name), batch=batch)
        run_evaluation(context, InlineExecutor(), progress=False)
    files = sorted(p.name for p in (tmp_path / "plain").glob("*.value"))
    assert len(files) == 4
    for name in files:
        assert (tmp_path / "batched" / name).read_text() == (tmp_path / "plain" / name).read_text()


def test_a_box_that_is_not_finite_counts_as_not_reported(tmp_path):
    """An empty mask's box (NaN) in a result file is no region: scored, not a crash."""
    dataset = _dataset()
    boxes = np.tile([10.0, 10.0, 20.0, 20.0], (LENGTH, 1))
    boxes[5] = np.nan  # a visible frame with an empty prediction
    present = np.ones(LENGTH, dtype=bool)
    present[list(ABSENT)] = False
    confidence = np.where(present, 0.9, 0.1)
    confidence[0] = math.nan  # the initialisation frame has no confidence
    _write(tmp_path / "nan", present, confidence, boxes)
    metrics = score_folder(tmp_path / "nan", dataset, "synthetic").metrics
    assert metrics["lt_precision"] == pytest.approx(1.0)  # the NaN frame is not a wrong report
    assert metrics["lt_recall"] == pytest.approx(53 / 55)  # ... nor a found one
    without_presence = tmp_path / "plain"  # no presence files: present everywhere, NaN frame still not reported
    results_io.write_box_file(results_io.box_result_path(without_presence, "seq"), boxes)
    report = score_results(dataset, without_presence, "ope")
    assert math.isfinite(report["lt_f"]) and math.isfinite(report["auc"])
