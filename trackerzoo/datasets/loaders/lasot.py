"""LaSOT: ``<root>/<class>/<class>-<n>/img/00000001.jpg`` + ``groundtruth.txt``.

Each sequence folder also holds ``full_occlusion.txt`` and ``out_of_view.txt`` (one
comma-separated line of 0/1 per frame) and ``nlp.txt`` (a sentence). The split lists
``testing_set.txt`` / ``training_set.txt`` (one sequence name per line), when present
in the root, select the protocol-II test or train set (``split="test"``/``"train"``).

Absent targets: a frame is visible unless it is fully occluded or out of view; the
OPE metric keeps invisible frames in the denominator (LaSOT's rule), where they can
never count as a success.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import frame_files, read_box_file, read_flags, read_list, require_dir
from trackerzoo.formats.paths import safe_name

SPLIT_FILES = {"test": "testing_set.txt", "train": "training_set.txt"}


def _visibility(folder: Path, length_of) -> np.ndarray | None:
    occlusion_file, out_of_view_file = folder / "full_occlusion.txt", folder / "out_of_view.txt"
    if not occlusion_file.is_file() and not out_of_view_file.is_file():
        return None
    length = length_of()
    hidden = np.zeros(length, dtype=bool)
    for file in (occlusion_file, out_of_view_file):
        if file.is_file():
            flags = read_flags(file)
            if flags.size != length:
                raise ValueError(f"{file} has {flags.size} flags for {length} frames")
            hidden |= flags.astype(bool)
    return ~hidden


def _lasot_sequence(folder: Path) -> Sequence:
    box_file = folder / "groundtruth.txt"
    cache: dict[str, np.ndarray] = {}

    def boxes() -> np.ndarray:
        if "boxes" not in cache:
            cache["boxes"] = read_box_file(box_file)
        return cache["boxes"]

    nlp = folder / "nlp.txt"
    attributes = {"dataset": "lasot", "class": folder.parent.name}
    if nlp.is_file():
        attributes["language"] = nlp.read_text(encoding="utf-8").strip()
    return Sequence(folder.name, lambda: frame_files(folder / "img"), boxes,
                    visible=lambda: _visibility(folder, lambda: len(boxes())), attributes=attributes)


def load_lasot(root: Path, *, split: str = "all", sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "LaSOT root")
    if split == "all":
        names = [f"{c.name}/{s.name}" for c in sorted(p for p in root.iterdir() if p.is_dir())
                 for s in sorted(q for q in c.iterdir() if q.is_dir() and (q / "groundtruth.txt").is_file())]
    elif split in SPLIT_FILES:
        list_file = root / SPLIT_FILES[split]
        if not list_file.is_file():
            raise FileNotFoundError(f"LaSOT split {split!r} needs {list_file}")
        names = [f"{name.rsplit('-', 1)[0]}/{name}" for name in
                 (safe_name(entry, source=list_file) for entry in read_list(list_file))]
    else:
        raise ValueError(f"LaSOT split {split!r} is not one of 'all', 'test', 'train'")
    dataset = Dataset(f"lasot-{split}", [_lasot_sequence(root / name) for name in names])
    return dataset.subset(sequences) if sequences else dataset
