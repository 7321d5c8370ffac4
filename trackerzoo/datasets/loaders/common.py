"""Small readers shared by the loaders: frame listings, list files, label files, masks.

Everything here is called lazily (from a sequence's first use), never while a dataset
is being listed, so that listing a tree of thousands of sequences reads only folder
names. Every malformed annotation raises a ValueError naming the file and line.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trackerzoo.formats.results_io import parse_number_line, read_box_file
from trackerzoo.frames import frame_files, natural_key

__all__ = ["boxes_for_frames", "frame_files", "image_size_of", "natural_key",
           "read_box_file", "read_flags", "read_index_png", "read_list",
           "read_properties", "require_dir", "require_file"]

def boxes_for_frames(given: np.ndarray, length: int, source: str) -> np.ndarray:
    """Boxes for ``length`` frames from a box file that annotates all of them or only the first.

    Test splits (TrackingNet) and user box files often give just the initial box; the
    other frames are then unknown (NaN) rather than an error.
    """
    if len(given) == length:
        return given
    if len(given) == 1:
        padded = np.full((length, 4), np.nan)
        padded[0] = given[0]
        return padded
    raise ValueError(f"box file {source!r} has {len(given)} boxes for {length} frames")


def require_dir(path: str | os.PathLike, what: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{what}: folder {os.fspath(path)!r} does not exist")
    return folder


def require_file(path: str | os.PathLike, what: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{what}: file {os.fspath(path)!r} does not exist")
    return file


def read_list(path: str | os.PathLike) -> list[str]:
    """Non-empty stripped lines of a list file (``list.txt``, ``val.txt`` ...)."""
    return [line.strip() for line in require_file(path, "list").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def read_flags(path: str | os.PathLike) -> np.ndarray:
    """Integer labels, one per frame, separated by newlines and/or commas.

    GOT-10k writes one label per line, LaSOT one comma-separated line; both read here.
    """
    source = require_file(path, "label")
    values: list[float] = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            values.extend(parse_number_line(line, source=source, line_number=number, count=None))
    array = np.asarray(values, dtype=np.float64)
    if not np.all(array == np.round(array)):
        raise ValueError(f"label file {os.fspath(path)!r} holds non-integer labels")
    return array.astype(np.int64)


def read_properties(path: str | os.PathLike, separators: str = "=:") -> dict[str, str]:
    """``key=value`` (VOT ``sequence``) or ``key: value`` (GOT-10k ``meta_info.ini``) lines.

    Section headers (``[METAINFO]``) and blank lines are skipped; a line with no
    separator is an error naming file and line.
    """
    source = require_file(path, "properties")
    properties: dict[str, str] = {}
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or (text.startswith("[") and text.endswith("]")):
            continue
        positions = [text.find(s) for s in separators if s in text]
        if not positions:
            raise ValueError(f"line {number} in {os.fspath(path)!r} is not 'key{separators[0]}value': {text!r}")
        cut = min(positions)
        properties[text[:cut].strip()] = text[cut + 1:].strip()
    return properties


def read_index_png(path: str | os.PathLike) -> np.ndarray:
    """Label image as stored (palette indices or grey levels), ``(H, W)`` uint8.

    OpenCV would expand a palette PNG to colours, losing the object ids DAVIS and
    YouTube-VOS store in it, so PIL reads these.
    """
    from PIL import Image

    with Image.open(require_file(path, "annotation")) as image:
        array = np.asarray(image)
    if array.ndim == 3:  # an RGB(A) annotation: any non-black pixel is foreground
        array = (array[..., :3].max(axis=2) > 0).astype(np.uint8)
    return array.astype(np.uint8, copy=False)


def image_size_of(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image file from its header, without decoding pixels."""
    from PIL import Image

    with Image.open(require_file(path, "image")) as image:
        return int(image.width), int(image.height)
