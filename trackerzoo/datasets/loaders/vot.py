"""VOT short-term 2020+: ``<root>/list.txt`` and one folder per sequence.

A sequence folder holds ``sequence`` (``key=value`` metadata; ``channels.color``
gives the frame pattern, by default ``color/%08d.jpg``), ``groundtruth.txt`` (one
region per frame: rectangle, polygon or ``m...`` RLE mask), per-frame tags
``<tag>.tag`` (0/1 lines) and values ``<name>.value``. ``anchor.value`` marks the
frames where an evaluation run starts: a positive value runs forward, a negative
one backward. Folders without a ``sequence`` file use the legacy layout (frames
``%08d.jpg`` in the folder itself).

``Sequence.regions`` are the exact regions; ``boxes`` are their bounding boxes and
``mask(i)`` rasterises the region of frame ``i`` to the image.

Absent targets: an empty ground-truth region (blank mask, zero-size box) is not
visible; the VOT metric never counts such frames towards a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import read_flags, read_list, read_properties, require_dir, require_file
from trackerzoo.formats.paths import safe_name, safe_relative_path
from trackerzoo.formats.regions import UNKNOWN, Region, rasterize, region_is_empty, region_to_box
from trackerzoo.formats.results_io import read_region_file

DEFAULT_PATTERN = "color/%08d.jpg"


def _frame_paths(folder: Path, pattern: str, length: int | None) -> list[Path]:
    paths = []
    index = 1
    while length is None or index <= length:
        path = folder / (pattern % index)
        if length is None and not path.is_file():
            break
        paths.append(path)
        index += 1
    if not paths:
        raise FileNotFoundError(f"VOT sequence {os.fspath(folder)!r} has no frames matching {pattern!r}")
    return paths


def read_anchor_file(path: Path, length: int) -> tuple[list[int], list[int]]:
    """Forward and backward anchor frames (0-based) of an ``anchor.value`` file."""
    values = _read_values(path)
    if values.size > length:
        raise ValueError(f"{path} has {values.size} values for {length} frames")
    forward = [int(i) for i in np.flatnonzero(values > 0)]
    backward = [int(i) for i in np.flatnonzero(values < 0)]
    return forward, backward


def _read_values(path: Path) -> np.ndarray:
    values = []
    for number, line in enumerate(require_file(path, "VOT value").read_text(encoding="utf-8").splitlines(), 1):
        try:
            values.append(float(line.strip()))
        except ValueError:
            raise ValueError(f"malformed line {number} in {os.fspath(path)!r}: {line.strip()[:80]!r}") from None
    return np.asarray(values, dtype=np.float64)


def _vot_sequence(folder: Path) -> Sequence:
    cache: dict[str, object] = {}
    metadata_file = folder / "sequence"
    metadata = read_properties(metadata_file, separators="=") if metadata_file.is_file() else {}
    pattern = safe_relative_path(metadata.get("channels.color", DEFAULT_PATTERN if metadata else "%08d.jpg"),
                                 source=metadata_file, what="frame pattern channels.color")
    groundtruth = safe_relative_path(metadata.get("groundtruth", "groundtruth.txt"), source=metadata_file,
                                     what="ground-truth file")
    declared_length = int(metadata["length"]) if "length" in metadata else None

    def regions() -> list[Region]:
        if "regions" not in cache:
            found = read_region_file(folder / groundtruth)
            if declared_length is not None and len(found) < declared_length:
                found = found + [UNKNOWN] * (declared_length - len(found))  # as the toolkit pads
            cache["regions"] = found
        return cache["regions"]  # type: ignore[return-value]

    def frames() -> list[Path]:
        if "frames" not in cache:
            cache["frames"] = _frame_paths(folder, pattern, declared_length or len(regions()))
        return cache["frames"]  # type: ignore[return-value]

    def boxes() -> np.ndarray:
        return np.stack([region_to_box(r) for r in regions()]) if regions() else np.zeros((0, 4))

    def visible() -> np.ndarray:
        return np.array([not region_is_empty(r) for r in regions()], dtype=bool)

    def anchors() -> list[int] | None:
        anchor_file = folder / "anchor.value"
        if not anchor_file.is_file():
            return None
        forward, backward = read_anchor_file(anchor_file, len(regions()))
        sequence.attributes["backward_anchors"] = backward
        return sorted(forward + backward)

    def mask(index: int) -> np.ndarray:
        width, height = sequence.image_size
        return rasterize(regions()[index], width, height)

    attributes: dict[str, object] = {"dataset": "vot", "tags": _tag_names(folder)}
    if "width" in metadata and "height" in metadata:
        attributes["image_size"] = (int(metadata["width"]), int(metadata["height"]))
    sequence = Sequence(folder.name, frames, boxes, masks=mask, visible=visible, anchors=anchors,
                        attributes=attributes, regions=regions)
    return sequence


def _tag_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.tag"))


def read_tag(folder: Path, tag: str, length: int) -> np.ndarray:
    """Per-frame bool of ``<tag>.tag`` (missing lines are False, as in the toolkit)."""
    flags = read_flags(folder / f"{tag}.tag").astype(bool)
    padded = np.zeros(length, dtype=bool)
    padded[:min(length, flags.size)] = flags[:length]
    return padded


def load_vot(root: Path, *, sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "VOT root")
    list_file = root / "list.txt"
    if list_file.is_file():
        names = [safe_name(name, source=list_file) for name in read_list(list_file)]
    else:
        names = sorted(safe_name(p.name, source=root) for p in root.iterdir()
                       if p.is_dir() and (p / "groundtruth.txt").is_file())
    for name in names:
        require_dir(root / name, f"VOT sequence {name!r} listed in {list_file}")
    dataset = Dataset(root.name or "vot", [_vot_sequence(root / name) for name in names])
    return dataset.subset(sequences) if sequences else dataset
