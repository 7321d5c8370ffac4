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


def test_vot_toolkit_binary_trajectories_read_back(tmp_path: Path) -> None:
    """Runs vot-toolkit 0.9 writes as ``.bin`` (its default) read as the same regions as its text."""
    io_module = pytest.importorskip("vot.region.io", reason="vot-toolkit is not installed")
    from vot.region import Special as VotSpecial
    from vot.region.shapes import Mask as VotMask
    from vot.region.shapes import Polygon as VotPolygon
    from vot.region.shapes import Rectangle as VotRectangle

    patch = np.ones((300, 300), dtype=np.uint8)
    patch[0, :5] = 0  # 89995 ones: the binary format splits runs over 65025 with a zero-length run
    written = [VotSpecial(1), VotRectangle(1.5, 2.0, 30.25, 4.0), VotPolygon([(0, 0), (4, 0.5), (4, 4)]),
               VotMask(patch, (7, -2), optimize=False), VotSpecial(2)]
    binary, text = tmp_path / "s" / "s_00000003.bin", tmp_path / "text.txt"
    binary.parent.mkdir()
    io_module.write_trajectory(str(binary), written)
    io_module.write_trajectory(str(text), written)
    assert results_io.find_vot_result(tmp_path, "s", 3) == binary
    assert results_io.read_vot_result(binary) == results_io.read_region_file(text)
    assert len(results_io.read_vot_result(binary)) == 5

    binary.write_bytes(binary.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"s_00000003\.bin' ends at byte"):
        results_io.read_vot_binary_trajectory(binary)
    binary.write_bytes(b"\x01\x00\x01\x00\x00\x00\x09")
    with pytest.raises(ValueError, match="unsupported region type 9 at byte 6"):
        results_io.read_vot_binary_trajectory(binary)
    text.rename(binary.with_suffix(".txt"))
    assert results_io.find_vot_result(tmp_path, "s", 3) == binary.with_suffix(".txt")  # text first, as the toolkit
    assert results_io.find_vot_result(tmp_path, "s", 4) is None
