"""Writers of ``trackerzoo track``/``demo`` outputs: box lines, mask PNGs, the annotated video.

Box and mask files are written atomically (``trackerzoo.formats.results_io``: a
temporary file moved into place), so an interrupted run never leaves a half-written
result next to the valid ones.
"""

from __future__ import annotations

from collections.abc import Iterable
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


class AnnotatedVideoWriter:
    """MP4 writer of RGB frames (the codec is OpenCV's portable ``mp4v``)."""

    def __init__(self, path: str | Path, fps: float, frame_hw: tuple[int, int]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        height, width = frame_hw
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps or 25.0, (width, height))
        if not self._writer.isOpened():
            raise ValueError(f"cannot open video writer for {str(self.path)!r}")

    def write(self, frame_rgb: np.ndarray) -> None:
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
