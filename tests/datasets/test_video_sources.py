"""Video sources that lie (issue #20, item 12): headers promising frames that do not decode,
an image given where a video is expected, and files that are no video at all -- in the
dataset loader (``eval --dataset plain:``) and in the frame reader of ``track``."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.cli.main import main
from trackerzoo.datasets import load_dataset
from trackerzoo.datasets.sequence import VideoFileFrames
from trackerzoo.errors import FrameCountWarning
from trackerzoo.io import open_frames

FRAMES = 20


def _video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(FRAMES):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[10:30, 2 * i:2 * i + 20] = 200
        writer.write(frame)
    writer.release()
    return path


def _decodable(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    return count


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    whole = _video(folder / "whole.avi")
    data = whole.read_bytes()
    truncated = folder / "truncated.avi"
    truncated.write_bytes(data[: int(len(data) * 0.8)])  # the AVI header still says 20 frames
    header = cv2.VideoCapture(str(truncated))
    assert header.get(cv2.CAP_PROP_FRAME_COUNT) == FRAMES  # the precondition: it lies
    header.release()
    assert 0 < _decodable(truncated) < FRAMES
    image = folder / "still.png"
    cv2.imwrite(str(image), np.full((48, 64, 3), (10, 20, 30), np.uint8))
    text = folder / "notes.mp4"
    text.write_text("not a video\n")
    return {"whole": whole, "truncated": truncated, "image": image, "text": text}


def test_a_truthful_header_is_trusted_without_warning(videos):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrameCountWarning)
        assert len(VideoFileFrames(videos["whole"])) == FRAMES


def test_a_header_promising_more_frames_counts_those_that_decode(videos):
    path = videos["truncated"]
    decodable = _decodable(path)
    frames = VideoFileFrames(path)
    with pytest.warns(FrameCountWarning, match=rf"truncated\.avi.*promises {FRAMES} frames but only {decodable}"):
        assert len(frames) == decodable
    assert frames.read(decodable - 1).shape == (48, 64, 3)
    assert frames.read(0).shape == (48, 64, 3)  # the capture was rewound after counting


def test_plain_loader_on_a_lying_video(videos, tmp_path):
    decodable = _decodable(videos["truncated"])
    with pytest.warns(FrameCountWarning):
        sequence = load_dataset("plain", videos["truncated"], boxes=_box_file(tmp_path))[0]
        assert len(sequence) == decodable
    assert sequence.boxes.shape == (decodable, 4)
    with pytest.raises(IndexError, match=f"of {decodable} frames"):
        sequence.frame(decodable)


def _box_file(folder: Path) -> Path:
    path = folder / "init.txt"
    path.write_text("4,10,20,20\n")
    return path


def test_plain_loader_on_a_single_image(videos):
    sequence = load_dataset("plain", videos["image"])[0]
    assert len(sequence) == 1 and sequence.name == "still"
    np.testing.assert_array_equal(sequence.frame(0)[0, 0], [30, 20, 10])  # RGB of the BGR written
    assert sequence.image_size == (64, 48)


def test_plain_loader_on_files_that_are_no_video(videos, tmp_path):
    other = tmp_path / "data.csv"
    other.write_text("1,2\n")
    with pytest.raises(ValueError, match=r"data\.csv' is neither a video file .* nor an image"):
        load_dataset("plain", other)
    sequence = load_dataset("plain", videos["text"])[0]
    with pytest.raises(ValueError, match=r"cannot decode video file .*notes\.mp4"):
        len(sequence)


def test_frame_reader_on_a_lying_video(videos):
    decodable = _decodable(videos["truncated"])
    with pytest.warns(FrameCountWarning, match=f"only {decodable} decode"):
        reader = open_frames(videos["truncated"])
    assert len(reader) == decodable
    assert sum(1 for _ in reader) == decodable


def test_frame_reader_on_a_single_image(videos):
    reader = open_frames(videos["image"])
    assert len(reader) == 1 and not reader.is_video
    frames = list(reader)
    assert len(frames) == 1 and frames[0].shape == (48, 64, 3)
    assert reader.frame_names() == ["still"]


def test_frame_reader_on_a_file_that_is_no_video(videos):
    with pytest.raises(ValueError, match=r"cannot decode .*notes\.mp4.*neither a video OpenCV can read nor an image"):
        open_frames(videos["text"])


def test_eval_on_a_lying_plain_video(videos, tmp_path, capsys):
    """`eval --dataset plain:` tracks the frames that decode and says so in one line."""
    decodable = _decodable(videos["truncated"])
    source = tmp_path / "clip.avi"
    source.write_bytes(videos["truncated"].read_bytes())
    (tmp_path / "clip.txt").write_text("4,10,20,20\n")  # the initial box, beside the video
    out = tmp_path / "out"
    assert main(["eval", "--tracker", "kcf", "--dataset", f"plain:{source}", "--out", str(out),
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert f"warning: video {str(source)!r}: its header promises {FRAMES} frames but only {decodable}" in captured.err
    # only the initial box is known: nothing to score, said so, and the table says n/a
    assert "no ground truth after the first frame ('clip'), so nothing is scored" in captured.err
    assert "| n/a | n/a | n/a |" in captured.out
    assert len((out / "clip.txt").read_text().splitlines()) == decodable


def test_track_on_a_single_image(videos, tmp_path):
    assert main(["track", str(videos["image"]), "--init", "10,10,20,20", "--tracker", "kcf", "--no-video",
                 "--out", str(tmp_path / "out")]) == 0
