"""Frame sources: a video file, a folder of images, or a glob pattern.

Every source yields RGB ``uint8`` frames, the colour order of the tracker protocol,
so OpenCV's BGR never leaks past this module.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from trackerzoo.datasets.loaders.common import frame_files, natural_key
from trackerzoo.datasets.sequence import IMAGE_SUFFIXES, count_video_frames, read_image_rgb


class FrameReader:
    """An ordered, re-iterable sequence of RGB frames from one source."""

    def __init__(self, source: str | Path) -> None:
        self.source = str(source)
        self._images: list[Path] | None = None
        path = Path(self.source)
        if any(ch in self.source for ch in "*?["):
            matches = sorted(glob.glob(self.source), key=lambda p: natural_key(Path(p).name))
            self._images = [Path(p) for p in matches if Path(p).suffix.lower() in IMAGE_SUFFIXES]
            if not self._images:
                raise ValueError(f"glob {self.source!r} matches no image files")
        elif path.is_dir():
            self._images = frame_files(path)
            if not self._images:
                raise ValueError(f"folder {self.source!r} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            self._images = [path]  # a single image: a one-frame source
        elif path.is_file():
            capture = cv2.VideoCapture(self.source)
            opened = capture.isOpened()
            # frames that decode, not what the header promises (a FrameCountWarning says so)
            self._video_length = count_video_frames(capture, self.source) if opened else 0
            self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) if opened else 0.0
            capture.release()
            if not opened or self._video_length == 0:
                raise ValueError(f"cannot decode {self.source!r}: neither a video OpenCV can read nor an image "
                                 f"({', '.join(sorted(IMAGE_SUFFIXES))})")
        else:
            raise ValueError(f"frame source {self.source!r} is neither a video file, a folder nor a glob")
        if self._images is not None:
            self.fps = 0.0

    @property
    def is_video(self) -> bool:
        return self._images is None

    def __len__(self) -> int:
        """Number of frames (for videos: the container's count, which may be approximate)."""
        return len(self._images) if self._images is not None else self._video_length

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._images is not None:
            for image_path in self._images:
                yield read_image_rgb(image_path)
            return
        capture = cv2.VideoCapture(self.source)
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()

    def frame_names(self) -> list[str] | None:
        """File stems of the images (for naming per-frame outputs), or ``None`` for a video."""
        return [p.stem for p in self._images] if self._images is not None else None


def open_frames(source: str | Path) -> FrameReader:
    return FrameReader(source)
