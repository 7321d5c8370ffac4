"""TrackingNet: ``<root>/<chunk>/frames/<video>/0.jpg ...`` + ``<chunk>/anno/<video>.txt``.

Chunks are ``TRAIN_0`` .. ``TRAIN_11`` and ``TEST``. Frames are numbered from 0
without zero padding, so they are ordered numerically. Test annotations hold only
the first box (the rest is scored by the evaluation server): later boxes are NaN.

Absent targets: TrackingNet has no visibility flags (``visible`` is None).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import boxes_for_frames, frame_files, read_box_file, require_dir
from trackerzoo.formats.paths import safe_name

TRAIN_CHUNKS = tuple(f"TRAIN_{i}" for i in range(12))


def _trackingnet_sequence(chunk_dir: Path, video: str) -> Sequence:
    cache: dict[str, list[Path]] = {}

    def frames() -> list[Path]:
        if "frames" not in cache:
            cache["frames"] = frame_files(chunk_dir / "frames" / video)
        return cache["frames"]

    def boxes() -> np.ndarray:
        box_file = chunk_dir / "anno" / f"{video}.txt"
        return boxes_for_frames(read_box_file(box_file), len(frames()), str(box_file))

    return Sequence(video, frames, boxes, attributes={"dataset": "trackingnet", "chunk": chunk_dir.name})


def load_trackingnet(root: Path, *, split: str = "test", chunks: list[str] | None = None,
                     sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "TrackingNet root")
    label = split if chunks is None else "+".join(chunks)
    if chunks is None:
        if split == "test":
            chunks = ["TEST"]
        elif split == "train":
            chunks = [c for c in TRAIN_CHUNKS if (root / c).is_dir()]
        else:
            raise ValueError(f"TrackingNet split {split!r} is not 'test' or 'train'")
    found = []
    for chunk in chunks:
        safe_name(chunk, source="the chunks option", what="TrackingNet chunk")
        chunk_dir = require_dir(root / chunk, f"TrackingNet chunk {chunk!r}")
        anno_dir = require_dir(chunk_dir / "anno", f"TrackingNet chunk {chunk!r} annotations")
        for box_file in sorted(anno_dir.glob("*.txt")):
            found.append(_trackingnet_sequence(chunk_dir, safe_name(box_file.stem, source=box_file)))
    dataset = Dataset(f"trackingnet-{label}", found)
    return dataset.subset(sequences) if sequences else dataset
