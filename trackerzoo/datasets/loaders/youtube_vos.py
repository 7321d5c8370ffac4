"""YouTube-VOS (2018/2019): ``<root>/<split>/JPEGImages/<video>/00000.jpg``,
``<split>/Annotations/<video>/00000.png`` and ``<split>/meta.json``.

``meta.json`` is ``{"videos": {video: {"objects": {id: {"category": ..., "frames":
[...]}}}}}``. Frames are stored every 5th frame of the original video; annotations
exist for every stored frame in ``train`` and only for the frame where an object
first appears in ``valid``/``test``. Every object becomes its own single-object
sequence ``<video>_<id>`` that starts at the object's first annotated frame (where a
tracker would be initialised) and runs to the end of the video.

Absent targets: in a frame without an annotation file the mask and box are unknown
(None / NaN) and ``visible`` is False; an annotated frame where the object has no
pixels is absent too (NaN box).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import frame_files, read_index_png, require_dir, require_file
from trackerzoo.datasets.loaders.masks import boxes_from_masks, visible_from_masks
from trackerzoo.formats.paths import safe_name

SPLITS = ("train", "valid", "test")


def _read_meta(path: Path) -> dict[str, dict]:
    try:
        meta = json.loads(require_file(path, "YouTube-VOS meta").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{os.fspath(path)!r} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    videos = meta.get("videos") if isinstance(meta, dict) else None
    if not isinstance(videos, dict):
        raise ValueError(f"{os.fspath(path)!r} has no 'videos' mapping")
    return videos


def _object_sequence(split_dir: Path, video: str, object_id: int, first_frame: str,
                     category: str | None) -> Sequence:
    cache: dict[str, list[Path]] = {}

    def frames() -> list[Path]:
        if "frames" not in cache:
            every = frame_files(split_dir / "JPEGImages" / video)
            stems = [p.stem for p in every]
            if first_frame not in stems:
                raise ValueError(f"YouTube-VOS {video}: object {object_id} starts at frame {first_frame!r}, "
                                 "which is not in JPEGImages")
            cache["frames"] = every[stems.index(first_frame):]
        return cache["frames"]

    def mask(index: int) -> np.ndarray | None:
        path = split_dir / "Annotations" / video / f"{frames()[index].stem}.png"
        return read_index_png(path) == object_id if path.is_file() else None

    return Sequence(f"{video}_{object_id}", frames, lambda: boxes_from_masks(mask, len(frames())), masks=mask,
                    visible=lambda: visible_from_masks(mask, len(frames())),
                    attributes={"dataset": "youtube_vos", "video": video, "object_id": object_id,
                                "category": category})


def load_youtube_vos(root: Path, *, split: str = "valid", sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "YouTube-VOS root")
    if split not in SPLITS:
        raise ValueError(f"YouTube-VOS split {split!r} is not one of {SPLITS}")
    split_dir = require_dir(root / split, f"YouTube-VOS {split} split")
    meta_file = split_dir / "meta.json"
    videos = _read_meta(meta_file)
    found = []
    for video in sorted(videos):
        safe_name(video, source=meta_file, what="YouTube-VOS video")
        entry = videos[video]
        objects = entry.get("objects", {}) if isinstance(entry, dict) else None
        if not isinstance(objects, dict):
            raise ValueError(f"{os.fspath(meta_file)!r}: video {video!r} has no 'objects' mapping")
        for key in objects:
            if not (isinstance(key, str) and key.isdecimal()):
                raise ValueError(f"{os.fspath(meta_file)!r}: object id {key!r} of video {video!r} is not a number")
        for key in sorted(objects, key=int):
            frames = objects[key].get("frames") or [] if isinstance(objects[key], dict) else []
            if not frames:
                raise ValueError(f"{os.fspath(meta_file)!r}: object {key} of {video!r} lists no frames")
            first = safe_name(str(frames[0]), source=meta_file, what=f"first frame of object {key} of {video!r}")
            found.append(_object_sequence(split_dir, video, int(key), first, objects[key].get("category")))
    dataset = Dataset(f"youtube_vos-{split}", found)
    return dataset.subset(sequences) if sequences else dataset
