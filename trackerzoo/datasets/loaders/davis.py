"""DAVIS 2016 / 2017: ``JPEGImages/480p/<video>/00000.jpg`` + ``Annotations/480p/<video>/00000.png``.

Split lists: ``ImageSets/2017/<split>.txt`` / ``ImageSets/2016/<split>.txt`` (one
video name per line, DAVIS 2017 release) or, in the DAVIS 2016 release,
``ImageSets/480p/<split>.txt`` (lines ``/JPEGImages/480p/bear/00000.jpg
/Annotations/480p/bear/00000.png``).

* 2016: one object per video; the annotation is a 0/255 grey image (or a palette
  image with index 1) and every non-zero pixel is the object. Sequence = video.
* 2017: a palette PNG of object ids; 255 is *void* (not scored). Every object id
  present in the first frame becomes its own single-object sequence
  ``<video>_<id>``, because trackerzoo trackers follow one target; the DAVIS
  metric averages over objects, so per-object sequences score the same.

Absent targets: an object with no pixels in a frame is not visible and has a NaN
box; its mask is empty (and J/F score 1 when the prediction is empty too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import frame_files, read_index_png, read_list, require_dir
from trackerzoo.datasets.loaders.masks import boxes_from_masks, visible_from_masks
from trackerzoo.formats.palette_png import VOID_LABEL
from trackerzoo.formats.paths import safe_name, safe_relative_path

YEARS = (2016, 2017)


def _split_names(root: Path, year: int, split: str) -> list[str]:
    candidates = [root / "ImageSets" / str(year) / f"{split}.txt"]
    if year == 2016:
        candidates.append(root / "ImageSets" / "480p" / f"{split}.txt")
    for list_file in candidates:
        if list_file.is_file():
            names = []
            for line in read_list(list_file):
                first = line.split()[0]
                if "/" in first:  # the 2016 release: /JPEGImages/480p/<video>/00000.jpg
                    relative = safe_relative_path(first.lstrip("/"), source=list_file, what="DAVIS frame path")
                    first = relative.split("/")[-2] if "/" in relative else relative
                names.append(safe_name(first, source=list_file, what="DAVIS video name"))
            return list(dict.fromkeys(names))
    raise FileNotFoundError(f"DAVIS {year} split {split!r}: none of {[str(c) for c in candidates]} exists")


class _VideoAnnotations:
    """Lazily read label images of one video, shared by its object sequences."""

    def __init__(self, folder: Path, frames_of) -> None:
        self.folder = folder
        self._frames_of = frames_of
        self._files: dict[str, Path] | None = None

    def label(self, index: int) -> np.ndarray | None:
        if self._files is None:
            self._files = {p.stem: p for p in self.folder.glob("*.png")} if self.folder.is_dir() else {}
        frame = self._frames_of()[index]
        path = self._files.get(Path(frame).stem)
        return None if path is None else read_index_png(path)


def _object_sequence(name: str, frames_of, annotations: _VideoAnnotations, object_id: int | None,
                     attributes: dict[str, object]) -> Sequence:
    def mask(index: int) -> np.ndarray | None:
        label = annotations.label(index)
        if label is None:
            return None
        if object_id is None:
            return label > 0
        return label == object_id

    def void(index: int) -> np.ndarray | None:
        label = annotations.label(index)
        return None if label is None or object_id is None else label == VOID_LABEL

    return Sequence(name, frames_of, lambda: boxes_from_masks(mask, len(frames_of())), masks=mask,
                    visible=lambda: visible_from_masks(mask, len(frames_of())), attributes=attributes,
                    ignore_masks=void)


def load_davis(root: Path, *, year: int = 2017, split: str = "val", resolution: str = "480p",
               sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "DAVIS root")
    if year not in YEARS:
        raise ValueError(f"DAVIS year {year!r} is not one of {YEARS}")
    safe_name(split, source="the split option", what="DAVIS split")
    safe_name(resolution, source="the resolution option", what="DAVIS resolution")
    image_root = require_dir(root / "JPEGImages" / resolution, "DAVIS frames")
    label_root = require_dir(root / "Annotations" / resolution, "DAVIS annotations")
    found: list[Sequence] = []
    for video in _split_names(root, year, split):
        cache: dict[str, list[Path]] = {}

        def frames_of(video: str = video, cache: dict[str, list[Path]] = cache) -> list[Path]:
            if "frames" not in cache:
                cache["frames"] = frame_files(image_root / video)
            return cache["frames"]

        annotations = _VideoAnnotations(label_root / video, frames_of)
        base = {"dataset": f"davis{year}", "video": video}
        if year == 2016:
            found.append(_object_sequence(video, frames_of, annotations, None, dict(base)))
            continue
        first = sorted(p for p in (label_root / video).glob("*.png"))
        if not first:
            raise FileNotFoundError(f"DAVIS video {video!r} has no annotation in {label_root / video}")
        ids = [int(i) for i in np.unique(read_index_png(first[0])) if i not in (0, VOID_LABEL)]
        for object_id in ids:
            found.append(_object_sequence(f"{video}_{object_id}", frames_of, annotations, object_id,
                                          {**base, "object_id": object_id}))
    dataset = Dataset(f"davis{year}-{split}", found)
    return dataset.subset(sequences) if sequences else dataset
