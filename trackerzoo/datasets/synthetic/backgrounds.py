"""Backgrounds: a still photograph or a video clip, seen through a moving camera.

Camera motion is simulated by cropping a window that pans and zooms over a canvas
larger than the output frame. A video background plays its clip (bouncing back at
the end when the clip is shorter than the sequence) under the same camera motion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# The canvas is this much larger than the frame in each direction, leaving room to pan.
CANVAS_MARGIN = 1.35


def cover_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize keeping the aspect ratio so the image covers at least ``size`` (w, h)."""
    height, width = image.shape[:2]
    factor = max(size[0] / width, size[1] / height)
    new_size = (max(size[0], round(width * factor)), max(size[1], round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, new_size, interpolation=interpolation)


def canvas_size_for(frame_size: tuple[int, int]) -> tuple[int, int]:
    return round(frame_size[0] * CANVAS_MARGIN), round(frame_size[1] * CANVAS_MARGIN)


class StillBackground:
    """One image, the same canvas on every frame."""

    def __init__(self, image_rgb: np.ndarray, frame_size: tuple[int, int], name: str) -> None:
        self.canvas = np.ascontiguousarray(cover_resize(image_rgb, canvas_size_for(frame_size)))
        self.name = name

    @property
    def canvas_size(self) -> tuple[int, int]:
        return self.canvas.shape[1], self.canvas.shape[0]

    def canvas_at(self, t: int) -> np.ndarray:
        return self.canvas


def ping_pong(t: int, start: int, length: int) -> int:
    """Index into a clip of ``length`` frames, playing forwards then backwards from ``start``."""
    if length <= 1:
        return 0
    period = 2 * (length - 1)
    position = (start + t) % period
    return position if position < length else period - position


class VideoBackground:
    """Frames of a video clip, decoded sequentially and resized to the canvas.

    Only when the sequence is longer than what remains of the clip after ``start`` are
    frames kept in memory (to play them back in reverse).
    """

    def __init__(self, path: Path, frame_size: tuple[int, int], length: int, start_fraction: float) -> None:
        self.name = path.name
        self._path = path
        self._canvas_size = canvas_size_for(frame_size)
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise ValueError(f"cannot decode background video {str(path)!r}")
        clip_length = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if clip_length <= 0:
            raise ValueError(f"background video {str(path)!r} reports no frames")
        self._clip_length = clip_length
        self._start = int(start_fraction * max(0, clip_length - length)) if clip_length >= length else 0
        self._buffered = clip_length < length
        self._capture = capture
        if self._start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, self._start)
        self._frames: list[np.ndarray] = []
        self._last: np.ndarray | None = None
        self._current_t = 0  # index of the frame held in self._last
        first = self._read_next(allow_end=True)
        if first is None and self._start:
            # Some containers (tree.avi) over-report their length, so a seek near the
            # reported end lands past the real one: play from the clip's start instead.
            capture.release()
            capture = self._capture = cv2.VideoCapture(str(path))
            self._start = 0
            first = self._read_next(allow_end=True)
        if first is None:
            raise ValueError(f"background video {str(path)!r} yields no decodable frame")
        if self._buffered:
            self._frames.append(first)
            while (frame := self._read_next(allow_end=True)) is not None:
                self._frames.append(frame)
            self._clip_length = len(self._frames)
            capture.release()
        else:
            self._last = first

    def _read_next(self, allow_end: bool = False) -> np.ndarray | None:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            if allow_end:
                return None
            if self._last is not None:  # a clip whose header over-reports its length
                return self._last
            raise ValueError(f"background video {str(self._path)!r} ended unexpectedly")
        return cover_resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self._canvas_size)

    @property
    def canvas_size(self) -> tuple[int, int]:
        reference = self._frames[0] if self._buffered else self._last
        return reference.shape[1], reference.shape[0]

    def canvas_at(self, t: int) -> np.ndarray:
        if self._buffered:
            return self._frames[ping_pong(t, 0, self._clip_length)]
        if t < self._current_t:
            raise ValueError(f"video background frames must be read in order; asked for {t} after {self._current_t}")
        while self._current_t < t:
            self._last = self._read_next()
            self._current_t += 1
        return self._last


@dataclass(frozen=True)
class CameraPath:
    """Window centre (in canvas pixels) and canvas pixels per frame pixel, per frame."""

    cx: np.ndarray
    cy: np.ndarray
    scale: np.ndarray

    def render(self, canvas: np.ndarray, t: int, frame_size: tuple[int, int]) -> np.ndarray:
        width, height = frame_size
        s = float(self.scale[t])
        matrix = np.array([[s, 0.0, self.cx[t] - s * width / 2.0], [0.0, s, self.cy[t] - s * height / 2.0]])
        return cv2.warpAffine(canvas, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)


def plan_camera(rng: np.random.Generator, length: int, frame_size: tuple[int, int],
                canvas_size: tuple[int, int], moving: bool,
                noise: Callable[[np.random.Generator, int, float], np.ndarray]) -> CameraPath:
    """A smooth pan/zoom path whose window always stays inside the canvas."""
    width, height = frame_size
    canvas_w, canvas_h = canvas_size
    fit = min(canvas_w / width, canvas_h / height)  # >= CANVAS_MARGIN by construction
    if not moving:
        scale = np.full(length, min(1.0, fit))
        return CameraPath(np.full(length, canvas_w / 2.0), np.full(length, canvas_h / 2.0), scale)
    correlation = float(rng.uniform(20, 60))
    zoom_amplitude = float(rng.uniform(0.0, 0.12))
    scale = np.clip(0.9 * np.exp(zoom_amplitude * noise(rng, length, correlation)), 0.7, min(1.0, fit))
    half_w, half_h = scale * width / 2.0, scale * height / 2.0
    room_x, room_y = canvas_w / 2.0 - half_w, canvas_h / 2.0 - half_h
    cx = canvas_w / 2.0 + room_x * np.clip(0.6 * noise(rng, length, correlation), -1, 1)
    cy = canvas_h / 2.0 + room_y * np.clip(0.6 * noise(rng, length, correlation), -1, 1)
    return CameraPath(cx, cy, scale)
