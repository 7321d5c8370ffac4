"""Writers of ``trackerzoo track``/``demo`` outputs: box lines, mask PNGs, the annotated video.

Mask PNGs and ``write_boxes`` files are written atomically (``trackerzoo.formats.results_io``:
a temporary file moved into place) and the annotated video under a temporary name that
is renamed when it is complete, so an interrupted run never leaves a half-written file
under a result's name. (``trackerzoo track`` streams its box lines instead:
``trackerzoo.cli.outputs``.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from trackerzoo.formats.results_io import write_bytes_atomic, write_text_atomic


def format_box_line(box: Iterable[float]) -> str:
    return ",".join(f"{float(v):.4f}" for v in box)


def write_boxes(path: str | Path, boxes: Iterable[Iterable[float]]) -> None:
    """One ``x,y,w,h`` line per frame, the OTB/GOT-10k community format."""
    write_text_atomic(path, "".join(format_box_line(box) + "\n" for box in boxes))


def write_mask_png(path: str | Path, mask: np.ndarray) -> None:
    """A binary mask as an 8-bit PNG with values 0 and 255."""
    ok, encoded = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    if not ok:
        raise ValueError(f"could not encode mask of shape {mask.shape} as PNG")
    write_bytes_atomic(path, encoded.tobytes())


H264 = "avc1"
MP4V = "mp4v"
_codec_probe: str | None = None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (FFmpeg prints its encoder search there, outside Python)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def mp4_fourcc() -> str:
    """``"avc1"`` (H.264) when this OpenCV build can write and read back an H.264 MP4, else ``"mp4v"``.

    Probed once per process by encoding a small clip in a temporary folder; FFmpeg's
    messages about encoders it cannot open are silenced.
    """
    global _codec_probe
    if _codec_probe is None:
        _codec_probe = MP4V
        with tempfile.TemporaryDirectory(prefix="trackerzoo-codec-") as folder, _quiet_stderr():
            probe = os.path.join(folder, "probe.mp4")
            writer = cv2.VideoWriter(probe, cv2.VideoWriter_fourcc(*H264), 25.0, (32, 32))
            if writer.isOpened():
                for value in (0, 128):
                    writer.write(np.full((32, 32, 3), value, dtype=np.uint8))
            writer.release()
            capture = cv2.VideoCapture(probe)
            if capture.isOpened() and capture.read()[0]:
                _codec_probe = H264
            capture.release()
    return _codec_probe


def codec_description(fourcc: str) -> str:
    """How the printout names a codec: ``H.264`` or ``mp4v`` with why."""
    if fourcc == H264:
        return "H.264"
    return "mp4v (MPEG-4 Part 2: this OpenCV build cannot write H.264)"


class AnnotatedVideoWriter:
    """MP4 writer of RGB frames, H.264 when OpenCV can write it (``mp4_fourcc``), else ``mp4v``.

    Frames go to a hidden ``.<stem>.partial.mp4`` beside ``path``; ``close`` finishes
    the file and renames it to ``path``, so ``path`` is always a complete, decodable
    video (of the frames written before ``close``), never a half-written one.
    ``frame_hw`` is ``(height, width)`` in pixels; ``fps`` <= 0 means 25. Raises
    ``ValueError`` when OpenCV cannot open a writer.
    """

    def __init__(self, path: str | Path, fps: float, frame_hw: tuple[int, int], *, fourcc: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial_path = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.fourcc = fourcc or mp4_fourcc()
        self.frames_written = 0
        height, width = frame_hw
        rate = fps if fps and np.isfinite(fps) and fps > 0 else 25.0
        self._writer: cv2.VideoWriter | None = cv2.VideoWriter(
            str(self.partial_path), cv2.VideoWriter_fourcc(*self.fourcc), rate, (width, height))
        if not self._writer.isOpened():
            self._writer = None
            self.partial_path.unlink(missing_ok=True)
            raise ValueError(f"cannot open a {self.fourcc} video writer for {str(self.path)!r}")

    @property
    def codec(self) -> str:
        return codec_description(self.fourcc)

    def write(self, frame_rgb: np.ndarray) -> None:
        if self._writer is None:
            raise ValueError(f"video {str(self.path)!r} is already closed")
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and move it to ``path`` (idempotent)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        os.replace(self.partial_path, self.path)

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
