"""``trackerzoo eval-results`` end to end on tiny trees, including pytracking-style files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.cli.main import main


def _otb_tree(root: Path) -> None:
    frame = cv2.imencode(".jpg", np.zeros((30, 40, 3), np.uint8))[1].tobytes()
    folder = root / "Car4"
    (folder / "img").mkdir(parents=True)
    for i in range(1, 4):
        (folder / "img" / f"{i:04d}.jpg").write_bytes(frame)
    (folder / "groundtruth_rect.txt").write_text("0,0,10,10\n0,0,10,10\n0,0,10,10\n")


def test_ope_json_from_tab_separated_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _otb_tree(tmp_path / "otb")
    results = tmp_path / "results"
    results.mkdir()
    # pytracking writes integers separated by tabs
    (results / "Car4.txt").write_text("0\t0\t10\t10\n0\t0\t10\t5\n20\t20\t10\t10\n")
    code = main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(results), "--json"])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["protocol"] == "ope" and metrics["sequences"] == 1
    assert metrics["auc"] == pytest.approx(10 / 21)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["per_sequence"]["Car4"]["auc"] == pytest.approx(10 / 21)


def test_missing_result_file_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _otb_tree(tmp_path / "otb")
    (tmp_path / "results").mkdir()
    code = main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(tmp_path / "results"),
                 "--json"])
    assert code == 2
    assert "Car4" in capsys.readouterr().err


def test_malformed_result_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _otb_tree(tmp_path / "otb")
    results = tmp_path / "results"
    results.mkdir()
    (results / "Car4.txt").write_text("0,0,10,10\n0,0,ten,10\n0,0,10,10\n")
    code = main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(results)])
    assert code == 2
    error = capsys.readouterr().err
    assert "line 2" in error and "Car4.txt" in error


def test_vot_summary_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = cv2.imencode(".jpg", np.zeros((30, 40, 3), np.uint8))[1].tobytes()
    folder = tmp_path / "vot" / "ball"
    (folder / "color").mkdir(parents=True)
    for i in range(1, 13):
        (folder / "color" / f"{i:08d}.jpg").write_bytes(frame)
    (folder / "groundtruth.txt").write_text("2,2,10,10\n" * 12)
    (folder / "anchor.value").write_text("1\n" + "0\n" * 11)
    (folder / "sequence").write_text("channels.color=color/%08d.jpg\n")
    (tmp_path / "vot" / "list.txt").write_text("ball\n")
    run = tmp_path / "results" / "ball" / "ball_00000000.txt"
    run.parent.mkdir(parents=True)
    run.write_text("1\n" + "2,2,10,10\n" * 11)
    code = main(["eval-results", "--dataset", f"vot:{tmp_path / 'vot'}", "--results", str(tmp_path / "results"),
                 "--plot", str(tmp_path / "eao.png")])
    assert code == 0
    out = capsys.readouterr().out
    assert "eao: " in out and (tmp_path / "eao.png").read_bytes()[:4] == b"\x89PNG"
    assert "accuracy: 0.9167" in out  # 11 perfect frames of 12; the initialisation frame scores 0
    assert "robustness: 1.0000" in out


def _otb_results(tmp_path: Path) -> Path:
    _otb_tree(tmp_path / "otb")
    results = tmp_path / "results"
    results.mkdir()
    (results / "Car4.txt").write_text("0,0,10,10\n0,0,10,5\n20,20,10,10\n")
    return results


def test_metric_names_and_the_old_dataset_spelling(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _otb_results(tmp_path)
    assert main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(results), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"auc", "precision", "norm_precision"} <= set(metrics)
    assert set(metrics["per_sequence"]["Car4"]) == {"auc", "precision", "norm_precision"}
    assert "normalized_precision" not in metrics and "fps" not in metrics  # --fps not asked
    # `--dataset otb --root ROOT` (the old form) gives the same numbers, with a deprecation line.
    assert main(["eval-results", "--dataset", "otb", "--root", str(tmp_path / "otb"), "--results", str(results),
                 "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == metrics
    assert "--root is deprecated, use --dataset KIND:ROOT" in captured.err


def test_plot_and_fps_as_eval_has_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _otb_results(tmp_path)
    (results / "Car4_time.txt").write_text("0.5\n0.1\n0.1\n")  # initialisation, then two tracked frames
    plot = tmp_path / "plots" / "otb.png"
    assert main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(results), "--fps",
                 "--plot", str(plot), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["fps"] == pytest.approx(10.0) and metrics["init_s"] == pytest.approx(0.5)
    assert metrics["plot"] == str(plot) and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Without time files the speed is unknown (null), and a note says which file is missing.
    (results / "Car4_time.txt").unlink()
    assert main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(results), "--fps"]) == 0
    captured = capsys.readouterr()
    assert "fps: n/a" in captured.out and "Car4_time.txt" in captured.err
    assert main(["eval-results", "--dataset", f"otb:{tmp_path / 'otb'}", "--results", str(results), "--fps",
                 "--json"]) == 0
    unknown = json.loads(capsys.readouterr().out)  # strict JSON: null, never NaN
    assert unknown["fps"] is None and unknown["init_s"] is None
