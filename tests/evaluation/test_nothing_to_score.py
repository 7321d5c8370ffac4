"""Scores with nothing to score are NaN/null with a warning saying why (issue #20, item 11)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.cli.main import main
from trackerzoo.errors import NothingToScoreWarning
from trackerzoo.evaluation.got10k import evaluate_got10k
from trackerzoo.evaluation.vot import EAO_LOW, AnchorRun, VOTTruth, evaluate_vot
from trackerzoo.formats.regions import INITIALIZATION, Rectangle

BOXES = np.tile([10.0, 10.0, 20.0, 20.0], (5, 1))
SIZE = (64, 48)


def _got(visible: dict[str, list[bool]]):
    names = list(visible)
    lengths = {name: len(flags) for name, flags in visible.items()}
    boxes = {name: np.tile([10.0, 10.0, 20.0, 20.0], (lengths[name], 1)) for name in names}
    return evaluate_got10k(boxes, boxes, {name: SIZE for name in names},
                           {name: np.array(flags) for name, flags in visible.items()})


@pytest.mark.parametrize("flags", [[True, False, False, False], [True], [False, False], [True, False]])
def test_got10k_sequence_with_no_visible_frame_after_the_first_is_nan(flags):
    """Perfect predictions used to score AO = SR = 0.0 here."""
    with pytest.warns(NothingToScoreWarning, match=r"no visible frame after the first \('hidden'\).*NaN"):
        result = _got({"hidden": flags})
    assert math.isnan(result.ao) and math.isnan(result.sr50) and math.isnan(result.sr75)
    assert np.isnan(result.success_curve).all()
    assert math.isnan(result.per_sequence["hidden"]["ao"]) and result.per_sequence["hidden"]["frames"] == 0
    assert result.frames == 0


def test_got10k_unscorable_sequence_adds_nothing_to_the_pool():
    with pytest.warns(NothingToScoreWarning, match=r"1 sequence\(s\).*'hidden'.*add nothing to the pooled"):
        result = _got({"seen": [True] * 4, "hidden": [True, False, False]})
    assert result.ao == pytest.approx(1.0) and result.sr75 == pytest.approx(1.0)
    assert result.per_sequence["seen"]["ao"] == pytest.approx(1.0)
    assert math.isnan(result.per_sequence["hidden"]["ao"])


def test_got10k_with_something_to_score_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NothingToScoreWarning)
        result = _got({"seen": [True, False, True, False]})
    assert result.ao == pytest.approx(1.0) and result.frames == 1


def _vot(length: int, fail: bool):
    target = Rectangle(5, 5, 10, 10)
    far = Rectangle(30, 30, 5, 5)
    predicted = [INITIALIZATION] + [far if fail and i >= 3 else target for i in range(1, length)]
    truth = {"s": VOTTruth([target] * length, (40, 40), [AnchorRun(0, False)])}
    return evaluate_vot(truth, {"s": {0: predicted}})


@pytest.mark.parametrize("length", [20, EAO_LOW - 1, EAO_LOW])
def test_vot_eao_of_runs_shorter_than_the_interval_is_nan(length):
    with pytest.warns(NothingToScoreWarning, match=rf"no run reaches the EAO interval \[115, 755\].*{length} frames"):
        result = _vot(length, fail=False)
    assert math.isnan(result.eao)
    assert result.accuracy == pytest.approx((length - 1) / length) and result.robustness == 1.0


def test_vot_eao_of_a_run_reaching_the_interval_is_a_number():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NothingToScoreWarning)
        result = _vot(EAO_LOW + 1, fail=False)
    # only length 115 of the 640 in [115, 755) has an active run, with mean overlap 1
    assert result.eao == pytest.approx(1 / 640)


def test_vot_eao_of_a_short_failed_run_is_a_number():
    """A failed run counts at every length (the toolkit's rule), so its EAO is defined: near 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", NothingToScoreWarning)
        result = _vot(30, fail=True)
    assert 0.0 <= result.eao < 0.05


def _got10k_tree(root: Path, cover: list[int]) -> Path:
    folder = root / "val" / "GOT-10k_Val_000001"
    folder.mkdir(parents=True)
    frame = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1].tobytes()
    for i in range(1, len(cover) + 1):
        (folder / f"{i:08d}.jpg").write_bytes(frame)
    (folder / "groundtruth.txt").write_text("10,10,20,20\n" * len(cover))
    (folder / "cover.label").write_text("".join(f"{c}\n" for c in cover))
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    results = root / "results"
    results.mkdir()
    (results / "GOT-10k_Val_000001.txt").write_text("10,10,20,20\n" * len(cover))
    return results


def test_eval_results_prints_null_and_one_warning_line(tmp_path, capsys):
    results = _got10k_tree(tmp_path, [8, 0, 0, 0])
    args = ["eval-results", "--dataset", f"got10k:{tmp_path}", "--results", str(results)]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ao"] is None and report["sr50"] is None and report["sr75"] is None
    assert report["per_sequence"]["GOT-10k_Val_000001"]["ao"] is None
    warning_lines = captured.err.strip().splitlines()
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith("trackerzoo eval-results: warning: GOT-10k: 1 sequence(s) have no visible")
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "ao: n/a" in table and "ao: 0.0000" not in table


def test_eval_scoring_leaves_out_sequences_known_only_at_their_first_frame(tmp_path):
    from trackerzoo.datasets import Dataset, Sequence
    from trackerzoo.evaluation.runner_scoring import score_folder
    from trackerzoo.formats import results_io

    frames = np.zeros((4, 48, 64, 3), np.uint8)
    known = np.tile([10.0, 10.0, 20.0, 20.0], (4, 1))
    initial_only = known.copy()
    initial_only[1:] = np.nan
    dataset = Dataset("mixed", [Sequence("known", frames, known), Sequence("initial", frames, initial_only)])
    for sequence in dataset:
        results_io.write_box_file(results_io.box_result_path(tmp_path, sequence.name), known)
    with pytest.warns(NothingToScoreWarning, match=r"1 sequence\(s\).*\('initial'\), so they are left out"):
        scored = score_folder(tmp_path, dataset, "plain")
    # the known sequence alone, predicted perfectly: IoU 1 passes 20 of the 21 thresholds (not "> 1")
    assert scored.metrics["auc"] == pytest.approx(20 / 21)
    with pytest.warns(NothingToScoreWarning, match="nothing is scored"):
        alone = score_folder(tmp_path, dataset.subset(["initial"]), "plain")
    assert math.isnan(alone.metrics["auc"]) and math.isnan(alone.metrics["precision"])
