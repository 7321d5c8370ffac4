"""OTB-100 (OTB-2015): ``<root>/<Seq>/img/0001.jpg`` + ``groundtruth_rect.txt``.

Layout details the loader honours:

* two sequences hold two targets (``Jogging``, ``Skating2``): their boxes are in
  ``groundtruth_rect.1.txt`` / ``.2.txt`` and they become ``Jogging-1``/``Jogging-2``;
* box files use commas, tabs or spaces between numbers;
* a few sequences are annotated from a later frame on (the benchmark's own start
  frames, e.g. ``David`` from frame 300): the frames used are the images from the
  start frame on, as many as there are box lines;
* coordinates are kept as written (1-based, as the benchmark's results are).

Absent targets: OTB annotates every frame; the OPE metric's frame rules apply.
"""

from __future__ import annotations

from pathlib import Path

from trackerzoo.datasets import Dataset, Sequence
from trackerzoo.datasets.loaders.common import frame_files, read_box_file, require_dir
from trackerzoo.formats.paths import safe_name

# 1-based first annotated frame of the OTB-100 sequences that do not start at frame 1.
START_FRAMES = {"BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18, "David": 300}


def _otb_sequence(name: str, folder: Path, box_file: Path, start: int) -> Sequence:
    boxes = None

    def load_boxes():
        nonlocal boxes
        if boxes is None:
            boxes = read_box_file(box_file)
        return boxes

    def frames():
        images = frame_files(folder / "img")
        count = len(load_boxes())
        chosen = images[start - 1:start - 1 + count]
        if len(chosen) != count:
            raise ValueError(f"{name}: {box_file} has {count} boxes but {folder / 'img'} holds "
                             f"{len(images)} images from frame {start}")
        return chosen

    return Sequence(name, frames, load_boxes, attributes={"dataset": "otb", "start_frame": start})


def load_otb(root: Path, *, sequences: list[str] | None = None) -> Dataset:
    require_dir(root, "OTB root")
    found: list[Sequence] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "img").is_dir()):
        start = START_FRAMES.get(folder.name, 1)
        numbered = sorted(folder.glob("groundtruth_rect.*.txt"))
        if numbered:
            for box_file in numbered:
                index = box_file.name.split(".")[1]
                name = safe_name(f"{folder.name}-{index}", source=box_file)
                found.append(_otb_sequence(name, folder, box_file, start))
        elif (folder / "groundtruth_rect.txt").is_file():
            box_file = folder / "groundtruth_rect.txt"
            found.append(_otb_sequence(safe_name(folder.name, source=root), folder, box_file, start))
    dataset = Dataset("otb", found)
    return dataset.subset(sequences) if sequences else dataset
