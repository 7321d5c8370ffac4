"""Frame sources: a video file, a folder of images, a glob pattern or a camera.

Every source yields RGB ``uint8`` ``(H, W, 3)`` frames, the colour order of the tracker
protocol, so OpenCV's BGR never leaks past this module. The image-file helpers here
(``IMAGE_SUFFIXES``, ``natural_key``, ``frame_files``, ``read_image_rgb``) are the ones
the dataset loaders use too, so a folder reads the same whether it is a dataset
sequence or the source of ``trackerzoo track``.

This module sits in the "base" layer (docs/architecture.md): it imports OpenCV, NumPy
and the standard library only, so both ``trackerzoo.track_video`` (front) and the
dataset loaders can use it.
"""

from __future__ import annotations

import glob
import math
import os
import re
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path

import cv2
import numpy as np

from trackerzoo.errors import FrameCountWarning

PathLike = str | os.PathLike

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})

_DIGITS = re.compile(r"(\d+)")


class FrameDecodeError(ValueError):
    """A frame of a source exists but cannot be decoded; the message names the frame and file."""


def natural_key(name: str) -> list[object]:
    """Sort ``2.jpg`` before ``10.jpg`` (TrackingNet numbers frames without padding)."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]


def frame_files(folder: PathLike) -> list[Path]:
    """Image files of a folder in natural name order. Raises ``FileNotFoundError`` for a missing folder."""
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"frame folder {os.fspath(folder)!r} does not exist")
    names = [entry.name for entry in os.scandir(path)
             if entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES]
    return [path / name for name in sorted(names, key=natural_key)]


def read_image_rgb(path: PathLike) -> np.ndarray:
    """Decode one image file to RGB uint8 ``(H, W, 3)`` (grey images are expanded to three channels).

    Raises ``FileNotFoundError`` when the file is missing or OpenCV cannot decode it.
    """
    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image file {os.fspath(path)!r}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def camera_index(source: object) -> int | None:
    """The camera index ``source`` names (an ``int``, or a string of digits that is no existing path), else ``None``."""
    if isinstance(source, bool):
        return None
    if isinstance(source, int):
        return source if source >= 0 else None
    if isinstance(source, str) and source.isdigit() and not Path(source).exists():
        return int(source)
    return None


def check_range(start: object, end: object) -> tuple[int, int | None]:
    """Validated ``(start, end)`` of a frame range: ``0 <= start < end`` (``end`` exclusive, ``None`` = to the end).

    Raises ``ValueError`` naming the offending value.
    """
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
        raise ValueError(f"start must be a frame index >= 0, got {start!r}")
    if end is None:
        return int(start), None
    if isinstance(end, bool) or not isinstance(end, (int, np.integer)) or end <= start:
        raise ValueError(f"end must be a frame index > start={start} (exclusive) or None, got {end!r}")
    return int(start), int(end)


def count_video_frames(capture: cv2.VideoCapture, source: PathLike) -> int:
    """Frames of the opened ``capture`` that actually decode; the capture is left at frame 0.

    The container's frame count is trusted when its last frame can be grabbed (one
    seek). Otherwise -- no count stored, or a header promising frames that do not decode,
    as in a truncated file -- every frame is grabbed to count them, and a
    ``FrameCountWarning`` naming ``source`` says how many of the promised ones decode.
    """
    stored = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    promised = int(stored) if math.isfinite(stored) and 0 < stored < 2 ** 31 else 0
    if promised > 0:
        capture.set(cv2.CAP_PROP_POS_FRAMES, promised - 1)
        if capture.grab():
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            return promised
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    count = 0
    while capture.grab():
        count += 1
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    if promised > count:
        warnings.warn(f"video {os.fspath(source)!r}: its header promises {promised} frames but only {count} "
                      f"decode; using those {count}", FrameCountWarning, stacklevel=3)
    return count


class FrameReader:
    """An ordered sequence of RGB frames from one source.

    ``source`` is a video file, a folder of images (natural name order), a glob pattern
    such as ``'frames/*.jpg'``, or a camera index (``0`` or ``"0"``). Images and video
    files can be iterated any number of times; a camera is read live, until it stops
    delivering frames or the caller stops (a second read opens it again). Raises ``ValueError`` when the source
    does not exist, matches no image or cannot be opened.
    """

    def __init__(self, source: PathLike | int) -> None:
        self.source = os.fspath(source) if isinstance(source, os.PathLike) else source
        self._images: list[Path] | None = None
        self._camera: cv2.VideoCapture | None = None
        self._length = 0
        self.fps = 0.0
        camera = camera_index(self.source)
        if camera is not None:
            self._open_camera(camera)
            return
        if not isinstance(self.source, str):
            raise ValueError(f"frame source must be a path, a glob or a camera index, got {source!r}")
        path = Path(self.source)
        if any(ch in self.source for ch in "*?[") and not path.exists():
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
            self._length = count_video_frames(capture, self.source) if opened else 0
            self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) if opened else 0.0
            capture.release()
            if not opened or self._length == 0:
                raise ValueError(f"cannot decode {self.source!r}: neither a video OpenCV can read nor an image "
                                 f"({', '.join(sorted(IMAGE_SUFFIXES))})")
        else:
            raise ValueError(f"frame source {self.source!r} is neither a video file, a folder, a glob "
                             "nor a camera index")

    def _open_camera(self, index: int) -> None:
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            raise ValueError(f"cannot open camera {index} (is a camera connected and free?)")
        self._camera = capture
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if np.isfinite(fps) and fps > 0 else 0.0

    @property
    def kind(self) -> str:
        """``"images"``, ``"video"`` or ``"camera"``."""
        if self._camera is not None or camera_index(self.source) is not None:
            return "camera"
        return "images" if self._images is not None else "video"

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    def __len__(self) -> int:
        """Number of frames; a video's is the container's count (may be approximate); 0 for a camera (unknown)."""
        return len(self._images) if self._images is not None else self._length

    def frame_names(self) -> list[str] | None:
        """File stems of the images (for naming per-frame outputs), or ``None`` for a video or camera."""
        return [p.stem for p in self._images] if self._images is not None else None

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    def frames(self, start: int = 0, end: int | None = None) -> Generator[np.ndarray, None, None]:
        """Frames ``start`` to ``end - 1`` (``end`` exclusive; ``None`` = to the last frame), lazily.

        Frames before ``start`` are skipped without conversion. Raises ``ValueError`` for
        a bad range or when the source has no frame ``start``, and ``FrameDecodeError``
        when an image file of the range cannot be decoded (the frames before it have been
        yielded by then).
        """
        start, end = check_range(start, end)
        if self._images is not None:
            if start >= len(self._images):
                raise ValueError(f"start={start} is past the last frame of {self.source!r} "
                                 f"({len(self._images)} frames)")
            return self._image_frames(start, end)
        return self._capture_frames(start, end)

    def _image_frames(self, start: int, end: int | None) -> Generator[np.ndarray, None, None]:
        assert self._images is not None
        for index in range(start, len(self._images) if end is None else min(end, len(self._images))):
            try:
                yield read_image_rgb(self._images[index])
            except FileNotFoundError as exc:
                raise FrameDecodeError(f"frame {index} of {self.source!r} cannot be decoded: {exc}") from None

    def _capture_frames(self, start: int, end: int | None) -> Generator[np.ndarray, None, None]:
        camera = camera_index(self.source)
        if self._camera is not None:  # the camera opened by __init__ serves the first read
            capture, self._camera = self._camera, None
        else:
            capture = cv2.VideoCapture(camera if camera is not None else str(self.source))
        try:
            for index in range(start):
                if not capture.grab():
                    raise ValueError(f"start={start} is past the last frame of {self.source!r} ({index} frames)")
            index = start
            while end is None or index < end:
                ok, frame = capture.read()
                if not ok or frame is None:
                    if index == start:
                        raise ValueError(f"{self.source!r} has no frame {start} to start from")
                    break
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                index += 1
        finally:
            capture.release()

    def close(self) -> None:
        """Release a camera that was opened but never read."""
        if self._camera is not None:
            self._camera.release()
            self._camera = None


def open_frames(source: PathLike | int) -> FrameReader:
    """``FrameReader(source)``: a video file, image folder, glob or camera index."""
    return FrameReader(source)
