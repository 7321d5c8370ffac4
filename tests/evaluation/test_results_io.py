"""Result files: separators pytracking and others write, layouts, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trackerzoo.formats import results_io


def test_box_files_accept_commas_tabs_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("1,2,3,4\n5\t6\t7\t8\n9 10  11 12\nnan,nan,nan,nan\n\n")
    boxes = results_io.read_box_file(path)
    np.testing.assert_array_equal(boxes[:3], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert np.isnan(boxes[3]).all() and boxes.shape == (4, 4)


def test_blank_line_inside_a_box_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("1,2,3,4\n\n1,2,3,4\n")
    with pytest.raises(ValueError, match=r"empty line 2 in .*s\.txt"):
        results_io.read_box_file(path)
    assert np.isnan(results_io.read_box_file(path, allow_empty_lines=True)[1]).all()


def test_write_then_read_round_trip_and_no_temporary_left(tmp_path: Path) -> None:
    boxes = np.array([[1.25, 2, 3, 4], [np.nan] * 4])
    path = tmp_path / "deep" / "seq.txt"
    results_io.write_box_file(path, boxes)
    np.testing.assert_array_equal(results_io.read_box_file(path), boxes)
    assert path.read_text().splitlines()[0] == "1.25,2,3,4"
    assert sorted(p.name for p in path.parent.iterdir()) == ["seq.txt"]
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        results_io.write_box_file(path, np.zeros(3))


def test_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "seq.txt"
    results_io.write_box_file(path, np.ones((2, 4)))

    def crash(descriptor: int) -> None:  # e.g. the disk fills up or the process is killed mid-write
        raise OSError("no space left on device")

    monkeypatch.setattr(results_io.os, "fsync", crash)
    with pytest.raises(OSError, match="no space"):
        results_io.write_box_file(path, np.zeros((5, 4)))
    np.testing.assert_array_equal(results_io.read_box_file(path), np.ones((2, 4)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq.txt"]


def test_result_layouts(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1,1,1,1\n")
    (tmp_path / "b").mkdir()
    for name in ("b_002.txt", "b_001.txt", "b_time.txt", "notes.txt"):
        (tmp_path / "b" / name).write_text("1,1,1,1\n")
    assert results_io.find_box_results(tmp_path, "a") == [tmp_path / "a.txt"]
    assert [p.name for p in results_io.find_box_results(tmp_path, "b")] == ["b_001.txt", "b_002.txt"]
    assert results_io.find_box_results(tmp_path, "c") == []
    assert results_io.vot_result_path(tmp_path, "ball", 12) == tmp_path / "ball" / "ball_00000012.txt"


def test_times_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.value"
    results_io.write_times(path, [0.5, 0.25])
    np.testing.assert_allclose(results_io.read_times(path), [0.5, 0.25])
