"""GOT-10k: ``<root>/{train,val,test}/list.txt`` and one folder per sequence.

A sequence folder holds ``00000001.jpg ...``, ``groundtruth.txt`` (every frame for
train/val, only the first frame for test), ``absence.label``, ``cover.label`` and
``cut_by_image.label`` (one integer per line; train/val only) and ``meta_info.ini``
(``key: value`` lines under ``[METAINFO]``, including ``resolution: (W, H)``).
``root`` may be the dataset root (then ``split`` picks the subfolder) or a split
folder itself.

Absent targets: ``visible`` is ``cover.label > 0`` (the official evaluation scores
only those frames); without a cover file it is ``absence.label == 0``. Test
sequences have NaN boxes after frame 0 and cannot be scored locally.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import (
    frame_files,
    read_box_file,
    read_flags,
    read_list,
    require_dir,
)
from trackerzoo.formats.paths import safe_name

SPLITS = ("train", "val", "test")


def _got10k_sequence(folder: Path) -> Sequence:
    cache: dict[str, object] = {}

    def frames() -> list[Path]:
        if "frames" not in cache:
            cache["frames"] = frame_files(folder)
        return cache["frames"]  # type: ignore[return-value]

    def boxes() -> np.ndarray:
        given = read_box_file(folder / "groundtruth.txt")
        length = len(frames())
        if len(given) == length:
            return given
        if len(given) == 1:  # test split: only the initial box is public
            padded = np.full((length, 4), np.nan)
            padded[0] = given[0]
            return padded
        raise ValueError(f"{folder / 'groundtruth.txt'} has {len(given)} boxes for {length} frames")

    def visible() -> np.ndarray | None:
        cover, absence = folder / "cover.label", folder / "absence.label"
        if cover.is_file():
            return read_flags(cover) > 0
        if absence.is_file():
            return read_flags(absence) == 0
        return None

    return Sequence(folder.name, frames, boxes, visible=visible, attributes={"dataset": "got10k"})


def load_got10k(root: Path, *, split: str = "val", sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "GOT-10k root")
    if (root / "list.txt").is_file():
        split_dir = root
        split = root.name.lower()
    else:
        if split not in SPLITS:
            raise ValueError(f"GOT-10k split {split!r} is not one of {SPLITS}")
        split_dir = require_dir(root / split, f"GOT-10k {split} split")
    list_file = split_dir / "list.txt"
    if list_file.is_file():
        names = [safe_name(name, source=list_file) for name in read_list(list_file)]
    else:
        names = sorted(safe_name(p.name, source=split_dir) for p in split_dir.iterdir() if p.is_dir())
    dataset = Dataset(f"got10k-{split}", [_got10k_sequence(split_dir / name) for name in names])
    return dataset.subset(sequences) if sequences else dataset
