"""Need for Speed (NfS): ``<root>/<seq>/<fps>/<seq>/00001.jpg`` + ``<root>/<seq>/<fps>/<seq>.txt``.

Each sequence exists at 240 fps and, subsampled, at 30 fps (``fps`` option). The
annotation lines are ``track_id xmin ymin xmax ymax frame lost occluded generated
"label"`` and are made on the 240 fps frames (``frame`` is 1-based). At 30 fps, frame
``k`` (1-based) is 240 fps frame ``8 (k - 1) + 1``, so only the annotations of those
frames are used. Boxes become ``x, y, w, h`` = ``xmin, ymin, xmax - xmin, ymax - ymin``.

Absent targets: frames flagged ``lost`` are not visible; their boxes are kept as
annotated. Frames with no annotation line get a NaN box.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import frame_files, require_dir, require_file
from trackerzoo.formats.paths import safe_name

FPS_CHOICES = (30, 240)
_SUBSAMPLE = 8


def read_nfs_annotation(path: Path) -> dict[int, tuple[np.ndarray, bool]]:
    """240 fps frame number -> (x, y, w, h box, lost flag)."""
    source = require_file(path, "NfS annotation")
    rows: dict[int, tuple[np.ndarray, bool]] = {}
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            tokens = shlex.split(line)
            _, xmin, ymin, xmax, ymax, frame, lost = (float(t) for t in tokens[:7])
        except ValueError:
            raise ValueError(f"malformed line {number} in {os.fspath(path)!r}: {line.strip()[:80]!r}") from None
        rows[int(frame)] = (np.array([xmin, ymin, xmax - xmin, ymax - ymin]), bool(lost))
    return rows


def _nfs_sequence(folder: Path, name: str, fps: int) -> Sequence:
    cache: dict[str, object] = {}
    image_dir = folder / str(fps) / name

    def frames() -> list[Path]:
        if "frames" not in cache:
            cache["frames"] = frame_files(image_dir)
        return cache["frames"]  # type: ignore[return-value]

    def annotations() -> tuple[np.ndarray, np.ndarray]:
        if "annotations" not in cache:
            # 30 fps folders usually carry the 240 fps annotation file only.
            box_file = folder / str(fps) / f"{name}.txt"
            if not box_file.is_file():
                box_file = folder / "240" / f"{name}.txt"
            rows = read_nfs_annotation(box_file)
            length = len(frames())
            boxes = np.full((length, 4), np.nan)
            visible = np.zeros(length, dtype=bool)
            step = _SUBSAMPLE if fps == 30 else 1
            for k in range(length):
                entry = rows.get(k * step + 1)
                if entry is not None:
                    boxes[k], visible[k] = entry[0], not entry[1]
            cache["annotations"] = (boxes, visible)
        return cache["annotations"]  # type: ignore[return-value]

    return Sequence(name, frames, lambda: annotations()[0], visible=lambda: annotations()[1],
                    attributes={"dataset": "nfs", "fps": fps})


def load_nfs(root: Path, *, fps: int = 30, sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "NfS root")
    if fps not in FPS_CHOICES:
        raise ValueError(f"NfS fps {fps!r} is not one of {FPS_CHOICES}")
    found = [_nfs_sequence(folder, safe_name(folder.name, source=root), fps)
             for folder in sorted(p for p in root.iterdir() if (p / str(fps) / p.name).is_dir())]
    dataset = Dataset(f"nfs{fps}", found)
    return dataset.subset(sequences) if sequences else dataset
