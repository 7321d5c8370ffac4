"""The TraX adapter of ``trackerzoo vot-server``: region conversions, the session, the protocol.

The conversions and ``TraxSession`` need no ``trax`` package (fake TraX regions and a
fake mask tracker stand in); the last tests speak real TraX with ``trax.client`` to a
``vot-server`` process serving the mask tracker defined here (``MaskShift``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import trackerzoo
from trackerzoo import Prediction, Tracker
from trackerzoo.cli.main import main as trackerzoo_main
from trackerzoo.formats.regions import INITIALIZATION, Mask, Polygon, Rectangle
from trackerzoo.io import trax_server
from trackerzoo.io.trax_server import (
    TraxSession,
    import_trax,
    initial_target,
    prediction_region,
    region_from_trax,
)

FRAME_SIZE = (40, 30)  # width, height


class MaskShift(Tracker):
    """Test tracker with mask output: reports its first mask moved 2 px right per frame."""

    outputs = frozenset({"box", "mask"})
    supported_devices = ("cpu",)

    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        self.box, self.mask, self.frames = box, mask, 0

    def _track(self, frame: np.ndarray) -> Prediction:
        self.frames += 1
        mask = np.roll(self.mask, 2 * self.frames, axis=1) if self.mask is not None else None
        x, y, w, h = self.box
        return Prediction(box=(x + 2 * self.frames, y, w, h), score=0.25, mask=mask)


class BoxStill(MaskShift):
    """The same without mask output: box trackers get a box for every initial region."""

    outputs = frozenset({"box"})


class FakeTraxRegion:
    """What ``region_from_trax`` reads of a ``trax.region`` object."""

    def __init__(self, kind: str, *, bounds=None, points=(), array=None, offset=(0, 0)) -> None:
        self.type, self._bounds, self._points, self._array, self._offset = kind, bounds, points, array, offset

    def bounds(self):
        return self._bounds

    def __iter__(self):
        return iter(self._points)

    def array(self):
        return self._array

    def offset(self):
        return self._offset


# --------------------------------------------------------------------------- conversions


def test_initial_rectangle_is_the_box_for_every_tracker() -> None:
    for accepts_mask in (False, True):
        box, mask = initial_target(Rectangle(3.5, 4, 10, 6), FRAME_SIZE, accepts_mask)
        assert box == (3.5, 4.0, 10.0, 6.0) and mask is None


def test_initial_polygon_is_a_box_or_a_mask_by_tracker_kind() -> None:
    polygon = Polygon(np.array([[5.0, 5.0], [15.0, 5.0], [15.0, 12.0], [5.0, 12.0]]))
    box, mask = initial_target(polygon, FRAME_SIZE, accepts_mask=False)
    assert box == (5.0, 5.0, 10.0, 7.0) and mask is None
    box, mask = initial_target(polygon, FRAME_SIZE, accepts_mask=True)
    assert box is None and mask.shape == (30, 40)
    rows, columns = np.nonzero(mask)
    assert (columns.min(), columns.max(), rows.min(), rows.max()) == (5, 15, 5, 12)


def test_initial_mask_is_placed_at_its_offset_in_the_frame() -> None:
    patch = np.ones((3, 4), dtype=bool)
    for accepts_mask in (False, True):  # box trackers take the mask too and box it themselves
        box, mask = initial_target(Mask(patch, (10, 20)), FRAME_SIZE, accepts_mask)
        assert box is None and mask.sum() == 12 and mask[20:23, 10:14].all()


@pytest.mark.parametrize("region", [Rectangle(1, 1, 0, 5), Mask(np.zeros((2, 2), dtype=bool), (1, 1)), INITIALIZATION])
def test_empty_initial_region_is_refused(region) -> None:
    with pytest.raises(ValueError, match="empty"):
        initial_target(region, FRAME_SIZE, accepts_mask=True)


def test_initial_mask_outside_the_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the 40x30 frame"):
        initial_target(Mask(np.ones((3, 3), dtype=bool), (50, 50)), FRAME_SIZE, accepts_mask=True)


def test_reply_is_the_cropped_mask_or_the_box() -> None:
    mask = np.zeros((30, 40), dtype=bool)
    mask[4:7, 10:12] = True
    prediction = Prediction(box=(10, 4, 2, 3), score=0.5, mask=mask)
    reply = prediction_region(prediction, "auto")
    assert reply == Mask(np.ones((3, 2), dtype=bool), (10, 4))
    assert prediction_region(prediction, "rectangle") == Rectangle(10, 4, 2, 3)
    assert prediction_region(Prediction(box=(1, 2, 3, 4), score=1.0), "auto") == Rectangle(1, 2, 3, 4)


def test_reply_is_the_rotated_box_as_a_polygon() -> None:
    corners = np.array([[10.0, 4.0], [12.5, 4.5], [12.0, 7.0], [9.5, 6.5]])
    prediction = Prediction(box=(9.5, 4, 3, 3), score=0.5, mask=np.ones((30, 40), dtype=bool), rotated_box=corners)
    assert prediction_region(prediction, "rotated") == Polygon(corners)
    # No rotated box, or a non-finite one: the box, as in "rectangle".
    assert prediction_region(Prediction(box=(1, 2, 3, 4), score=1.0), "rotated") == Rectangle(1, 2, 3, 4)
    unknown = Prediction(box=(1, 2, 3, 4), score=1.0, rotated_box=np.full((4, 2), np.nan))
    assert prediction_region(unknown, "rotated") == Rectangle(1, 2, 3, 4)


def test_reply_for_nothing_found() -> None:
    blank = Prediction(box=(0, 0, 0, 0), score=0.0, mask=np.zeros((30, 40), dtype=bool))
    assert prediction_region(blank) == Mask(np.zeros((1, 1), dtype=bool), (0, 0))
    assert prediction_region(Prediction(box=(np.nan, 1, 2, 3), score=0.0)) == Rectangle(0, 0, 0, 0)
    with pytest.raises(ValueError, match="'polygon'"):
        prediction_region(blank, "polygon")


def test_regions_from_trax_objects() -> None:
    assert region_from_trax(FakeTraxRegion("rectangle", bounds=(1.0, 2.0, 3.0, 4.0))) == Rectangle(1, 2, 3, 4)
    polygon = region_from_trax(FakeTraxRegion("polygon", points=[(0.0, 0.0), (4.0, 0.0), (4.0, 5.5)]))
    assert polygon == Polygon(np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 5.5]]))
    array = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    assert region_from_trax(FakeTraxRegion("mask", array=array, offset=(7, 8))) == Mask(array > 0, (7, 8))
    with pytest.raises(ValueError, match="'special'"):
        region_from_trax(FakeTraxRegion("special"))
    with pytest.raises(ValueError, match="at least 3 points, got 2"):
        region_from_trax(FakeTraxRegion("polygon", points=[(0.0, 0.0), (1.0, 1.0)]))


def test_trax_regions_round_trip() -> None:
    trax = pytest.importorskip("trax", reason="the vot-trax package is not installed")
    mask = Mask(np.array([[True, False, True], [True, True, False]]), (5, 6))
    polygon = Polygon(np.array([[1.0, 2.0], [8.0, 2.5], [4.0, 9.0]]))
    for region in (Rectangle(1.5, 2.0, 3.25, 4.0), mask, polygon):
        assert region_from_trax(trax_server.region_to_trax(region, trax)) == region


# --------------------------------------------------------------------------- session


def _frames(count: int) -> dict[str, np.ndarray]:
    return {f"frame{i}.png": np.full((30, 40, 3), 10 * i, dtype=np.uint8) for i in range(count)}


def test_session_with_a_mask_tracker_replies_masks_and_scores() -> None:
    frames = _frames(3)
    session = TraxSession(MaskShift(), read_frame=frames.__getitem__)
    square = Polygon(np.array([[5.0, 5.0], [9.0, 5.0], [9.0, 9.0], [5.0, 9.0]]))
    assert session.initialize("frame0.png", square) == (square, 1.0)
    assert session.tracker.mask.sum() == 25  # the polygon arrived as a mask
    region, score = session.frame("frame1.png")
    assert score == 0.25 and region == Mask(np.ones((5, 5), dtype=bool), (7, 5))
    boxes = TraxSession(MaskShift(), report="rectangle", read_frame=frames.__getitem__)
    boxes.initialize("frame0.png", square)
    assert boxes.frame("frame1.png") == (Rectangle(7, 5, 5, 5), 0.25)  # the box of the 5x5-pixel mask, moved


def test_session_with_a_box_tracker_boxes_a_polygon() -> None:
    session = TraxSession(BoxStill(), read_frame=_frames(2).__getitem__)
    session.initialize("frame0.png", Polygon(np.array([[5.0, 5.0], [9.0, 5.0], [7.0, 9.0]])))
    assert session.tracker.box == (5.0, 5.0, 4.0, 4.0) and session.tracker.mask is None
    assert session.frame("frame1.png") == (Rectangle(7, 5, 4, 4), 0.25)


def test_session_reads_the_image_file_as_rgb(tmp_path: Path) -> None:
    frame = np.zeros((30, 40, 3), dtype=np.uint8)
    frame[..., 0] = 200  # red in RGB
    cv2.imwrite(str(tmp_path / "f.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    seen = []

    class Recorder(BoxStill):
        def _initialize(self, image, box, mask):
            seen.append(image)
            super()._initialize(image, box, mask)

    TraxSession(Recorder()).initialize(str(tmp_path / "f.png"), Rectangle(1, 1, 5, 5))
    assert seen[0].shape == (30, 40, 3) and seen[0][0, 0].tolist() == [200, 0, 0]
    with pytest.raises(ValueError, match="'sideways'"):
        TraxSession(BoxStill(), report="sideways")


# --------------------------------------------------------------------------- missing package


def test_missing_trax_package_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "trax", None)  # makes `import trax` fail
    with pytest.raises(ValueError, match="pip install vot-trax"):
        import_trax()
    assert trackerzoo_main(["vot-server", "--tracker", "kcf"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "vot-server: error:" in captured.err and "vot-trax" in captured.err


# --------------------------------------------------------------------------- real TraX


def _server(tracker: str, *extra: str) -> subprocess.Popen:
    paths = [str(Path(__file__).resolve().parent), str(Path(trackerzoo.__file__).resolve().parents[1])]
    environment = dict(os.environ, OMP_NUM_THREADS="1",
                       PYTHONPATH=os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "trackerzoo.cli.main", "vot-server", "--tracker", tracker, *extra]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=environment)


@pytest.mark.slow  # one server process (imports torch)
def test_mask_tracker_over_real_trax(tmp_path: Path) -> None:
    trax = pytest.importorskip("trax", reason="the vot-trax package is not installed")
    from trax.client import Client

    paths = []
    for index in range(3):
        paths.append(str(tmp_path / f"{index}.png"))
        cv2.imwrite(paths[-1], np.full((30, 40, 3), 40 * index, dtype=np.uint8))
    process = _server("test_trax_server:MaskShift")
    try:
        log: list[str] = []  # what the server printed besides protocol messages
        client = Client(stream=(process.stdin.fileno(), process.stdout.fileno()), log=log.append)
        assert set(client.region_formats) == {"rectangle", "polygon", "mask"} and client.channels == ["color"]
        assert client.tracker_name == "test_trax_server:MaskShift"
        start = trax.Mask.create(np.ones((4, 5), dtype=np.uint8), 6, 7)
        objects, _ = client.initialize({"color": trax.FileImage.create(paths[0])}, [(start, {})], {})
        assert region_from_trax(objects[0][0]) == Mask(np.ones((4, 5), dtype=bool), (6, 7))
        for index in (1, 2):
            objects, _ = client.frame({"color": trax.FileImage.create(paths[index])}, {}, [])
            (region, properties), = objects
            assert region_from_trax(region) == Mask(np.ones((4, 5), dtype=bool), (6 + 2 * index, 7))
            assert float(properties["confidence"]) == 0.25
        client.quit()
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
