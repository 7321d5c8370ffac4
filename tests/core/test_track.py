"""``trackerzoo track`` and ``trackerzoo.track_video``: ranges, sources, windows, JSON, folders of
videos, streamed results that survive signals and bad frames, bounded memory, file modes."""

from __future__ import annotations

import gc
import json
import os
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest
import track_fakes

import trackerzoo
from trackerzoo.cli.commands import track as track_command
from trackerzoo.cli.main import main
from trackerzoo.cli.outputs import OutputRecorder
from trackerzoo.formats.results_io import write_text_atomic
from trackerzoo.frames import FrameReader
from trackerzoo.io import display, writers
from trackerzoo.session import run_tracker

REPO = Path(__file__).resolve().parents[2]
SLOW = "track_fakes:SlowTracker"
MASKS = "track_fakes:MaskTracker"

RED_BGR = (0, 0, 255)


def _frame(index: int, size=(48, 64)) -> np.ndarray:
    """BGR frame ``index``: a bright square moving right on a dark background."""
    frame = np.full((*size, 3), 20, np.uint8)
    frame[10:30, 5 + 2 * index: 25 + 2 * index] = (40, 200, 240)
    return frame


@pytest.fixture
def folder(tmp_path) -> Path:
    images = tmp_path / "frames"
    images.mkdir()
    for index in range(10):
        cv2.imwrite(str(images / f"f{index}.png"), _frame(index))
    return images


def _write_video(path: Path, count: int, size=(48, 64)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (size[1], size[0]))
    for index in range(count):
        writer.write(_frame(index % 20, size))
    writer.release()
    return path


def _decoded_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _expected_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# ----------------------------------------------------------------------------- track_video


def test_track_video_yields_one_prediction_per_frame_of_the_range_in_rgb(folder):
    track_fakes.ColourProbe.seen.clear()
    cv2.imwrite(str(folder / "f3.png"), np.full((48, 64, 3), RED_BGR, np.uint8))
    predictions = list(trackerzoo.track_video(track_fakes.ColourProbe, folder, box=(5, 10, 20, 20), start=2, end=6))
    assert len(predictions) == 4 and len(track_fakes.ColourProbe.seen) == 4
    assert predictions[0].box == (5.0, 10.0, 20.0, 20.0) and predictions[0].score == 1.0
    red = track_fakes.ColourProbe.seen[1]  # source frame 3, written as BGR red: RGB (255, 0, 0)
    assert red == pytest.approx((255.0, 0.0, 0.0))


def test_track_video_builds_a_tracker_by_name_and_reads_videos_and_iterables(tmp_path):
    video = _write_video(tmp_path / "clip.mp4", 8)
    by_name = list(trackerzoo.track_video("kcf", video, box=(5, 10, 20, 20), end=5))
    assert len(by_name) == 5 and all(isinstance(p, trackerzoo.Prediction) for p in by_name)
    frames = [cv2.cvtColor(_frame(i), cv2.COLOR_BGR2RGB) for i in range(6)]
    from_arrays = list(trackerzoo.track_video(trackerzoo.create(SLOW), frames, box=(5, 10, 20, 20), start=1))
    assert [p.box[0] for p in from_arrays] == [5.0, 6.0, 7.0, 8.0, 9.0]


def test_track_video_is_lazy(folder):
    iterator = trackerzoo.track_video(trackerzoo.create(SLOW), folder, box=(5, 10, 20, 20))
    first = next(iterator)
    assert first.box == (5.0, 10.0, 20.0, 20.0)
    assert next(iterator).box[0] == 6.0


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"box": None}, "box=(x, y, w, h)"),
    ({"start": -1}, "start must be a frame index >= 0, got -1"),
    ({"start": 3, "end": 3}, "end must be a frame index > start=3"),
    ({"start": 1.5}, "got 1.5"),
    ({"start": 10}, "start=10 is past the last frame"),
])
def test_track_video_refuses_bad_arguments_before_tracking(folder, kwargs, needle):
    arguments = {"box": (5, 10, 20, 20), **kwargs}
    with pytest.raises(ValueError, match=None) as caught:
        trackerzoo.track_video("kcf", folder, **arguments)
    assert needle in str(caught.value)


def test_track_video_refuses_a_source_that_is_not_one(tmp_path):
    with pytest.raises(ValueError, match="neither a video file"):
        trackerzoo.track_video("kcf", tmp_path / "missing.mp4", box=(1, 1, 4, 4))
    with pytest.raises(ValueError, match="iterable of RGB frames"):
        trackerzoo.track_video("kcf", 3.5, box=(1, 1, 4, 4))


# ----------------------------------------------------------------------------- range, JSON, help


def test_track_start_end_tracks_that_range_and_names_masks_by_source_frame(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["track", str(folder), "--tracker", MASKS, "--init", "5,10,20,20", "--start", "3", "--end", "7",
                 "--out", str(out)]) == 0
    assert len(_lines(out / "boxes.txt")) == 4
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["f4.png", "f5.png", "f6.png"]
    assert _decoded_frames(out / "annotated.mp4") == 4
    assert "4 frames (frames 3-6)" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "needle"), [
    (["--start", "-2"], "--start must be a frame index >= 0, got -2"),
    (["--start", "4", "--end", "4"], "--end must be greater than --start=4"),
])
def test_track_bad_range_is_one_clear_line(folder, tmp_path, capsys, extra, needle):
    assert main(["track", str(folder), "--init", "5,10,20,20", "--out", str(tmp_path / "o"), *extra]) == 2
    assert needle in capsys.readouterr().err


def test_track_json_prints_one_object_per_frame(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["track", str(folder), "--tracker", MASKS, "--init", "5,10,20,20", "--end", "5", "--json",
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["frame"] for r in records] == [0, 1, 2, 3, 4]
    assert set(records[0]) == {"source", "frame", "box", "score", "rotated_box", "mask"}
    assert records[0]["box"] == [5.0, 10.0, 20.0, 20.0] and records[0]["score"] == 1.0
    assert records[2]["rotated_box"] == [[5.0, 10.0], [25.0, 10.0], [25.0, 30.0], [5.0, 30.0]]
    assert records[2]["score"] == 0.75 and Path(records[2]["mask"]) == out / "masks" / "f2.png"
    assert records[0]["mask"] is None  # frame 0 is the given box, not a tracked mask
    assert all(Path(r["mask"]).is_file() for r in records[1:])
    assert "5 frames" in captured.err  # the summary leaves stdout to the JSON lines


def test_track_json_of_a_box_tracker_has_no_mask(folder, tmp_path, capsys):
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,20,20", "--end", "3", "--json",
                 "--no-video", "--out", str(tmp_path / "o")]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 3 and all(r["mask"] is None and r["rotated_box"] is None for r in records)


@pytest.mark.parametrize("command", ["track", "demo"])
def test_help_names_the_default_tracker(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "cract (if its weights are present; else csrt" in text


# ----------------------------------------------------------------------------- camera, window, selection


class _FakeCamera:
    """Stands in for ``cv2.VideoCapture(0)``: six frames, then nothing."""

    def __init__(self, count: int = 6) -> None:
        self.count, self.read_frames, self.released = count, 0, False

    def isOpened(self):
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def grab(self):
        ok, _ = self.read()
        return ok

    def read(self):
        if self.read_frames >= self.count:
            return False, None
        self.read_frames += 1
        return True, _frame(self.read_frames - 1)

    def release(self):
        self.released = True


@pytest.fixture
def camera(monkeypatch, tmp_path):
    real = cv2.VideoCapture
    cameras: list[_FakeCamera] = []

    def capture(source, *args):
        if isinstance(source, int):
            cameras.append(_FakeCamera())
            return cameras[-1]
        return real(source, *args)

    monkeypatch.setattr(cv2, "VideoCapture", capture)
    monkeypatch.chdir(tmp_path)  # "0" must not name a file here
    return cameras


def test_track_reads_a_webcam_index(camera, tmp_path, capsys):
    out = tmp_path / "cam"
    assert main(["track", "0", "--tracker", "kcf", "--init", "5,10,20,20", "--start", "1", "--out", str(out)]) == 0
    assert len(camera) == 1 and camera[0].released
    assert len(_lines(out / "boxes.txt")) == 5  # six frames, the first skipped by --start 1
    assert _decoded_frames(out / "annotated.mp4") == 5


def test_a_camera_source_is_opened_once_per_read(camera):
    reader = FrameReader("0")
    assert reader.kind == "camera" and len(reader) == 0 and reader.fps == 30.0
    assert len(list(reader.frames())) == 6 and len(list(reader.frames(end=2))) == 2
    assert len(camera) == 2 and all(c.released for c in camera)


def test_track_video_reads_a_webcam_index(camera):
    predictions = list(trackerzoo.track_video("kcf", 0, box=(5, 10, 20, 20)))
    assert len(predictions) == 6


def test_track_without_init_and_without_display_asks_for_init(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(display, "_opencv_gui_backend", lambda: "GTK3")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["track", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--init x,y,w,h (or --init-mask) is needed" in err and "DISPLAY" in err
    assert len(err.strip().splitlines()) == 1


def test_headless_opencv_is_named_as_the_reason(monkeypatch):
    monkeypatch.setattr(display, "_opencv_gui_backend", lambda: "NONE")
    monkeypatch.setenv("DISPLAY", ":0")
    assert "no GUI support" in display.gui_unavailable_reason()
    monkeypatch.setattr(display, "_opencv_gui_backend", lambda: "GTK3")
    assert display.gui_unavailable_reason() is None


@pytest.fixture
def fake_display(monkeypatch):
    """A display with GUI support whose windows are recorded instead of opened."""
    events: list[tuple] = []
    monkeypatch.setattr(display, "gui_unavailable_reason", lambda: None)
    monkeypatch.setattr(track_command, "gui_unavailable_reason", lambda: None)
    monkeypatch.setattr(cv2, "selectROI", lambda title, image, **kw: events.append(("roi", image.copy())) or
                        (7, 11, 18, 17))
    monkeypatch.setattr(cv2, "destroyWindow", lambda title: events.append(("destroy", title)))
    monkeypatch.setattr(cv2, "namedWindow", lambda title, flags=0: events.append(("window", title)))
    monkeypatch.setattr(cv2, "imshow", lambda title, image: events.append(("show", image.copy())))
    keys = iter([-1, -1, ord("q")] + [-1] * 100)
    monkeypatch.setattr(cv2, "waitKey", lambda delay: next(keys))
    monkeypatch.setattr(cv2, "getWindowProperty", lambda title, prop: 1.0)
    return events


def test_track_without_init_selects_the_box_in_a_window(folder, tmp_path, fake_display):
    out = tmp_path / "o"
    assert main(["track", str(folder), "--tracker", SLOW, "--no-video", "--out", str(out)]) == 0
    roi = [event for event in fake_display if event[0] == "roi"]
    assert len(roi) == 1
    assert np.array_equal(roi[0][1], _frame(0))  # the first frame, handed to OpenCV as BGR
    lines = _lines(out / "boxes.txt")
    assert len(lines) == 10 and lines[0] == "7.0000,11.0000,18.0000,17.0000"


def test_a_cancelled_selection_is_an_error(folder, tmp_path, fake_display, monkeypatch, capsys):
    monkeypatch.setattr(cv2, "selectROI", lambda title, image, **kw: (0, 0, 0, 0))
    assert main(["track", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "no box was selected" in capsys.readouterr().err


def test_show_displays_frames_and_q_stops(folder, tmp_path, fake_display, capsys):
    out = tmp_path / "o"
    assert main(["track", str(folder), "--tracker", SLOW, "--init", "5,10,20,20", "--show", "--out", str(out)]) == 0
    shown = [event for event in fake_display if event[0] == "show"]
    assert len(shown) == 3  # q was pressed on the third frame
    assert len(_lines(out / "boxes.txt")) == 3 and _decoded_frames(out / "annotated.mp4") == 3
    assert "stopped in the window; wrote 3 frames" in capsys.readouterr().out


def test_show_without_a_display_says_so_and_tracks(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(display, "_opencv_gui_backend", lambda: "NONE")
    out = tmp_path / "o"
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,20,20", "--show", "--no-video",
                 "--out", str(out)]) == 0
    assert "--show: no window, this OpenCV build has no GUI support" in capsys.readouterr().out
    assert len(_lines(out / "boxes.txt")) == 10


# ----------------------------------------------------------------------------- folders of videos


def _video_folder(tmp_path: Path, lengths: dict[str, int], init_text: str) -> tuple[Path, Path]:
    """A folder of videos (name -> frame count) and an --init-file holding ``init_text``."""
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, count in lengths.items():
        _write_video(videos / name, count)
    init = tmp_path / "init.txt"
    init.write_text(init_text)
    return videos, init


def test_a_folder_of_videos_is_tracked_video_by_video_with_an_init_file(tmp_path, capsys):
    videos, init = _video_folder(tmp_path, {"a.mp4": 6, "b clip.avi": 4},
                                 "# initial boxes\na 5,10,20,20\n\nb clip.avi 6, 11, 18, 18  # by file name\n")
    out = tmp_path / "out"
    assert main(["track", str(videos), "--tracker", "kcf", "--init-file", str(init), "--out", str(out)]) == 0
    assert _lines(out / "a" / "boxes.txt")[0] == "5.0000,10.0000,20.0000,20.0000"
    assert _lines(out / "b clip" / "boxes.txt")[0] == "6.0000,11.0000,18.0000,18.0000"
    assert len(_lines(out / "a" / "boxes.txt")) == 6 and len(_lines(out / "b clip" / "boxes.txt")) == 4
    assert _decoded_frames(out / "a" / "annotated.mp4") == 6
    printed = capsys.readouterr().out
    assert "6 frames of a.mp4" in printed and "4 frames of b clip.avi" in printed


def test_a_folder_of_videos_needs_a_box_for_each(tmp_path, capsys):
    videos, init = _video_folder(tmp_path, {"a.mp4": 3, "b.mp4": 3}, "a.mp4 5,10,20,20\n")
    assert main(["track", str(videos), "--init-file", str(init), "--out", str(tmp_path / "o")]) == 2
    assert "has no box for video 'b.mp4'" in capsys.readouterr().err
    assert main(["track", str(videos), "--init", "1,1,5,5", "--out", str(tmp_path / "o")]) == 2
    assert "folder of 2 videos" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize(("text", "needle"), [
    ("a.mp4 5,10,20\n", "line 1"),
    ("5,10,20,20\n", "line 1"),
    ("a 1,1,5,5\nb 1,1,5,x\n", "line 2"),
    ("a 1,1,5,5,6\n", "line 1"),
    ("a 1,1,5,5\na 2,2,5,5\n", "repeats video 'a'"),
])
def test_init_file_errors_name_the_line(tmp_path, text, needle):
    init = tmp_path / "init.txt"
    init.write_text(text)
    with pytest.raises(ValueError, match=needle):
        track_command.read_init_file(init)


# ----------------------------------------------------------------------------- files, codec, permissions


def test_result_files_get_the_normal_mode(folder, tmp_path):
    out = tmp_path / "o"
    previous = os.umask(0o022)
    try:
        assert main(["track", str(folder), "--tracker", MASKS, "--init", "5,10,20,20", "--end", "3",
                     "--out", str(out)]) == 0
        write_text_atomic(tmp_path / "atomic.txt", "x\n")
        os.umask(0o002)
        write_text_atomic(tmp_path / "group.txt", "x\n")
    finally:
        os.umask(previous)
    for path in [out / "boxes.txt", out / "scores.txt", out / "times.txt", out / "annotated.mp4",
                 out / "contact_sheet.png", out / "masks" / "f1.png", tmp_path / "atomic.txt"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert stat.S_IMODE((tmp_path / "group.txt").stat().st_mode) == 0o664


def test_the_video_codec_is_h264_when_opencv_can_write_it_else_mp4v_and_said(folder, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,20,20", "--out", str(out)]) == 0
    fourcc = writers.mp4_fourcc()
    assert fourcc in (writers.H264, writers.MP4V)
    capture = cv2.VideoCapture(str(out / "annotated.mp4"))
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    capture.release()
    written = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    assert written in ({"avc1", "h264", "H264"} if fourcc == writers.H264 else {"mp4v", "FMP4"})
    line = next(line for line in capsys.readouterr().out.splitlines() if "video:" in line)
    assert line.endswith("(H.264)") if fourcc == writers.H264 else "mp4v (MPEG-4 Part 2" in line


def test_the_codec_probe_falls_back_to_mp4v(monkeypatch):
    monkeypatch.setattr(writers, "_codec_probe", None)
    monkeypatch.setattr(writers, "H264", "zzzz")  # a fourcc no FFmpeg encodes
    assert writers.mp4_fourcc() == writers.MP4V
    assert "cannot write H.264" in writers.codec_description(writers.MP4V)


def test_the_codec_is_described_by_name():
    assert writers.codec_description("avc1") == "H.264"
    assert writers.codec_description("mp4v").startswith("mp4v (MPEG-4 Part 2")


def test_a_new_run_replaces_the_previous_runs_files(folder, tmp_path):
    out = tmp_path / "o"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["track", str(folder), "--tracker", MASKS, "--init", "5,10,20,20", "--out", str(out)]) == 0
    assert (out / "annotated.mp4").is_file() and len(list((out / "masks").iterdir())) == 9
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,20,20", "--end", "4", "--no-video",
                 "--out", str(out)]) == 0
    assert not (out / "annotated.mp4").exists() and not (out / "masks").exists()
    assert len(_lines(out / "boxes.txt")) == len(_lines(out / "scores.txt")) == len(_lines(out / "times.txt")) == 4
    assert (out / "notes.txt").read_text() == "mine"  # files that are not a run's are left alone


def test_a_run_that_fails_before_its_first_frame_leaves_the_folder_as_it_was(folder, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,20,20", "--end", "3",
                 "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,0,20", "--out", str(out)]) == 2
    assert "w=0" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
    assert main(["track", str(folder), "--init", "5,10,0,20", "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()


def test_a_frame_that_does_not_decode_stops_the_run_keeping_the_frames_before(folder, tmp_path, capsys):
    (folder / "f4.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "o"
    assert main(["track", str(folder), "--tracker", "kcf", "--init", "5,10,20,20", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "stopped: frame 4 of" in printed and "wrote 4 frames" in printed
    assert len(_lines(out / "boxes.txt")) == 4 and _decoded_frames(out / "annotated.mp4") == 4
    assert not list(out.glob(".*partial*"))


# ----------------------------------------------------------------------------- memory


def test_the_recorder_keeps_no_masks_and_memory_stays_flat(tmp_path):
    """#20 item 9: predictions and their masks are written and dropped, frame after frame."""
    frames = (np.full((480, 640, 3), i % 200, np.uint8) for i in range(160))
    recorder = OutputRecorder(tmp_path / "o", fps=25.0, frame_names=None, write_video=False, sheet_frames=2)
    alive: list[weakref.ref] = []
    tracemalloc.start()
    try:
        for step in run_tracker(trackerzoo.create(MASKS), frames, init_box=(10, 20, 30, 40)):
            recorder.add(step)
            if step.prediction.mask is not None:
                alive.append(weakref.ref(step.prediction.mask))
            del step
            if len(alive) == 40:
                gc.collect()
                settled, _ = tracemalloc.get_traced_memory()
        gc.collect()
        final, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    recorder.finish()
    assert sum(ref() is not None for ref in alive) <= 1  # at most the last frame's, held by the loop
    # 120 more 640x480 masks are 37 MB; what may vary is which few annotated frames the
    # contact sheet holds (at most 5 of 0.9 MB here).
    assert final - settled < 5_000_000
    assert len(_lines(tmp_path / "o" / "boxes.txt")) == 160 and len(list((tmp_path / "o" / "masks").iterdir())) == 159


def test_the_contact_sheet_keeps_few_frames_of_a_long_run(tmp_path):
    recorder = OutputRecorder(tmp_path / "o", fps=25.0, frame_names=None, write_video=False, sheet_frames=4)
    frames = (np.full((64, 64, 3), i, np.uint8) for i in range(100))
    for step in run_tracker(trackerzoo.create("kcf"), frames, init_box=(1, 1, 8, 8)):
        recorder.add(step)
        assert len(recorder._sheet) <= 8
    chosen = recorder.sheet_frames()
    assert len(chosen) == 4
    assert (chosen[0][60, 60, 0], chosen[-1][60, 60, 0]) == (0, 99)  # the first and the last frame are in
    recorder.finish()


# ----------------------------------------------------------------------------- signals (real subprocess)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_track_cleanly_with_consistent_files(tmp_path, signum):
    video = _write_video(tmp_path / "long.mp4", 600)
    out = tmp_path / "out"
    paths = [str(Path(__file__).parent), str(REPO), str(REPO / "plugins" / "cract"), str(REPO / "plugins" / "opencv")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "trackerzoo.cli.main", "track", str(video), "--tracker", SLOW, "--init", "5,10,20,20",
         "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            boxes = out / "boxes.txt"
            if boxes.is_file() and len(boxes.read_text().splitlines()) >= 15:
                break
            time.sleep(0.05)
        assert process.poll() is None, "track finished or failed before it could be interrupted"
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + int(signum), stderr
    message = [line for line in stdout.splitlines() if line.startswith("track: interrupted")]
    assert len(message) == 1 and f"by {signum.name}; wrote" in message[0], stdout
    written = int(message[0].split("wrote ")[1].split()[0])
    assert 15 <= written < 600
    assert len(_lines(out / "boxes.txt")) == written
    assert len(_lines(out / "scores.txt")) == len(_lines(out / "times.txt")) == written
    assert _decoded_frames(out / "annotated.mp4") == written
    assert not list(out.glob(".*partial*")) and "Traceback" not in stderr
