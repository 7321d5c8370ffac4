"""UAV123: ``<root>/data_seq/UAV123/<folder>/000001.jpg`` + ``<root>/anno/UAV123/<seq>.txt``.

Several annotated sequences are sections of one long video folder: ``bird1_2`` is
``bird1`` from frame 775 on. Their first frames come from the benchmark's sequence
configuration (``SECTION_STARTS``); each uses as many frames as its box file has
lines. ``split="UAV20L"`` reads ``data_seq/UAV123`` with ``anno/UAV20L``.

Absent targets: boxes of frames where the target is out of view are NaN in the
annotation; they stay NaN here and ``visible`` is False there.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import frame_files, read_box_file, require_dir
from trackerzoo.formats.paths import safe_name

# 1-based first frame of the UAV123 sequences that are sections of a longer folder.
SECTION_STARTS = {
    "bird1_1": 1, "bird1_2": 775, "bird1_3": 1573,
    "car1_1": 1, "car1_2": 751, "car1_3": 1627,
    "car16_1": 1, "car16_2": 415,
    "car6_1": 1, "car6_2": 487, "car6_3": 1807, "car6_4": 2953, "car6_5": 3925,
    "car8_1": 1, "car8_2": 1357,
    "group1_1": 1, "group1_2": 1333, "group1_3": 2515, "group1_4": 3925,
    "group2_1": 1, "group2_2": 907, "group2_3": 1771,
    "group3_1": 1, "group3_2": 1567, "group3_3": 2827, "group3_4": 4369,
    "person12_1": 1, "person12_2": 601,
    "person14_1": 1, "person14_2": 847, "person14_3": 1813,
    "person17_1": 1, "person17_2": 1501,
    "person19_1": 1, "person19_2": 1243, "person19_3": 2791,
    "person2_1": 1, "person2_2": 1189,
    "person4_1": 1, "person4_2": 1501,
    "person5_1": 1, "person5_2": 877,
    "person7_1": 1, "person7_2": 1249,
    "person8_1": 1, "person8_2": 1075,
    "truck4_1": 1, "truck4_2": 577,
    "uav1_1": 1, "uav1_2": 1555, "uav1_3": 2473,
}
_SECTION = re.compile(r"(.+)_(\d+)")


def _uav_sequence(name: str, folder: Path, start: int, box_file: Path) -> Sequence:
    cache: dict[str, np.ndarray] = {}

    def boxes() -> np.ndarray:
        if "boxes" not in cache:
            cache["boxes"] = read_box_file(box_file)
        return cache["boxes"]

    def frames() -> list[Path]:
        images = frame_files(folder)
        count = len(boxes())
        chosen = images[start - 1:start - 1 + count]
        if len(chosen) != count:
            raise ValueError(f"{name}: {box_file} has {count} boxes but {folder} holds {len(images)} "
                             f"images from frame {start}")
        return chosen

    def visible() -> np.ndarray:
        return np.isfinite(boxes()).all(axis=1)

    return Sequence(name, frames, boxes, visible=visible,
                    attributes={"dataset": "uav123", "folder": folder.name, "start_frame": start})


def load_uav123(root: Path, *, split: str = "UAV123", sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "UAV123 root")
    frames_root = require_dir(root / "data_seq" / "UAV123", "UAV123 frames")
    safe_name(split, source="the split option", what="UAV123 split")
    anno_dir = require_dir(root / "anno" / split, f"UAV123 annotations {split!r}")
    found = []
    for box_file in sorted(anno_dir.glob("*.txt")):
        name = safe_name(box_file.stem, source=box_file)
        if (frames_root / name).is_dir():
            found.append(_uav_sequence(name, frames_root / name, 1, box_file))
            continue
        match = _SECTION.fullmatch(name)
        if match and (frames_root / match.group(1)).is_dir():
            if name not in SECTION_STARTS:
                raise ValueError(f"UAV123 sequence {name!r} is a section of {match.group(1)!r} "
                                 "with no known start frame")
            found.append(_uav_sequence(name, frames_root / match.group(1), SECTION_STARTS[name], box_file))
            continue
        raise FileNotFoundError(f"UAV123 annotation {box_file} has no frame folder under {frames_root}")
    dataset = Dataset(split.lower(), found)
    return dataset.subset(sequences) if sequences else dataset
