"""``Sequence`` / ``Dataset`` behaviour and the loader registry."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.datasets import Dataset, Sequence, VideoFileFrames, dataset_kinds, register_loader


def test_lazy_fields_are_computed_once_and_typed() -> None:
    calls = []

    def boxes():
        calls.append("boxes")
        return [[1, 2, 3, 4], [2, 3, 4, 5]]

    frames = np.zeros((2, 4, 6, 3), np.uint8)
    sequence = Sequence("s", frames, boxes, visible=lambda: [1, 0])
    assert calls == []
    assert sequence.boxes.dtype == np.float64 and sequence.boxes.shape == (2, 4)
    _ = sequence.boxes
    assert calls == ["boxes"]
    assert sequence.visible.dtype == bool and sequence.visible.tolist() == [True, False]
    assert sequence.mask(0) is None and not sequence.has_masks
    assert sequence.image_size == (6, 4)
    assert sequence.frame(-1).shape == (4, 6, 3)
    with pytest.raises(IndexError, match="frame 2 out of range"):
        sequence.frame(2)


def test_masks_are_bool_and_bad_boxes_are_named() -> None:
    masks = [np.eye(3, dtype=np.uint8)] * 2
    sequence = Sequence("m", np.zeros((2, 3, 3, 3), np.uint8), np.zeros((2, 4)), masks=masks)
    assert sequence.has_masks and sequence.mask(1).dtype == bool and sequence.mask(1).sum() == 3
    broken = Sequence("broken", np.zeros((2, 3, 3, 3), np.uint8), [[1, 2, 3]])
    with pytest.raises(ValueError, match="'broken'"):
        _ = broken.boxes


def test_dataset_indexing_by_position_and_name() -> None:
    a = Sequence("a", np.zeros((1, 2, 2, 3), np.uint8), np.zeros((1, 4)))
    b = Sequence("b", np.zeros((1, 2, 2, 3), np.uint8), np.zeros((1, 4)))
    dataset = Dataset("d", [a, b])
    assert len(dataset) == 2 and dataset[1] is b and dataset["a"] is a and "b" in dataset
    assert [s.name for s in dataset] == ["a", "b"]
    assert dataset.subset(["b"]).names == ["b"]
    with pytest.raises(KeyError, match="'c'"):
        dataset["c"]
    with pytest.raises(ValueError, match="two sequences named 'a'"):
        Dataset("dup", [a, a])


def test_video_frames_are_rgb_seekable_and_picklable(tmp_path: Path) -> None:
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (16, 16))
    for i in range(4):
        bgr = np.zeros((16, 16, 3), np.uint8)
        bgr[..., 0] = 60 * i  # blue channel in OpenCV order
        writer.write(bgr)
    writer.release()
    frames = VideoFileFrames(path)
    assert len(frames) == 4
    last = frames.read(3)
    assert abs(int(last[..., 2].mean()) - 180) <= 4 and int(last[..., 0].mean()) <= 4  # blue is RGB[2]
    clone = pickle.loads(pickle.dumps(frames))
    assert abs(int(clone.read(1)[..., 2].mean()) - 60) <= 4
    with pytest.raises(FileNotFoundError):
        VideoFileFrames(tmp_path / "missing.mp4")


def test_registry_rejects_a_second_loader_for_a_kind() -> None:
    kinds = dataset_kinds()
    assert {"otb", "lasot", "got10k", "trackingnet", "uav123", "nfs", "vot", "davis", "youtube_vos",
            "plain"} <= set(kinds)
    with pytest.raises(ValueError, match="'otb'"):
        register_loader("otb", lambda root: Dataset("x", []))
