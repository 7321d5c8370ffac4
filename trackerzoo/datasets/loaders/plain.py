"""A plain video file, image folder or single image, with an optional box file.

``root`` is a video (``.mp4``, ``.avi`` ...), a folder of images (natural name
order) or one image file (a one-frame sequence). A video counts the frames that
decode: a header promising more (a truncated file) gives a ``FrameCountWarning``.
Boxes come from ``boxes=<file>`` or, when not given, from ``groundtruth.txt`` /
``groundtruth_rect.txt`` in the folder or ``<video>.txt`` next to the video; one
``x,y,w,h`` line per frame (commas, tabs or spaces). A box file with a single line
gives the initial box only. Without any box file all boxes are
NaN (a tracker then needs its initial box from the user).

Absent targets: NaN box lines mean unknown; there are no visibility flags.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import boxes_for_frames, frame_files, read_box_file
from trackerzoo.datasets.sequence import VideoFileFrames
from trackerzoo.formats.paths import safe_name
from trackerzoo.frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES

BOX_FILE_NAMES = ("groundtruth.txt", "groundtruth_rect.txt")


def _find_box_file(root: Path) -> Path | None:
    if root.is_dir():
        return next((root / n for n in BOX_FILE_NAMES if (root / n).is_file()), None)
    beside = root.with_suffix(".txt")
    return beside if beside.is_file() else None


def load_plain(root: Path, *, boxes: str | os.PathLike | None = None, name: str | None = None) -> Dataset:
    if root.is_file():
        suffix = root.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            frames: object = [root]  # one image: a one-frame sequence
        elif suffix in VIDEO_SUFFIXES:
            frames = VideoFileFrames(root)
        else:
            raise ValueError(f"{os.fspath(root)!r} is neither a video file ({', '.join(sorted(VIDEO_SUFFIXES))}) "
                             f"nor an image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    elif root.is_dir():
        files = frame_files(root)
        if not files:
            raise ValueError(f"image folder {os.fspath(root)!r} holds no images")
        frames = files
    else:
        raise FileNotFoundError(f"{os.fspath(root)!r} is neither a video file nor an image folder")
    box_file = Path(boxes) if boxes is not None else _find_box_file(root)
    if box_file is not None and not box_file.is_file():
        raise FileNotFoundError(f"box file {os.fspath(box_file)!r} does not exist")
    sequence_name = safe_name(name, source="the name option") if name is not None else safe_name(root.stem, source=root)

    def load_boxes() -> np.ndarray:
        length = len(sequence)
        if box_file is None:
            return np.full((length, 4), np.nan)
        return boxes_for_frames(read_box_file(box_file), length, os.fspath(box_file))

    sequence = Sequence(sequence_name, frames, load_boxes, attributes={"dataset": "plain", "source": str(root)})
    return Dataset(sequence_name, [sequence])
