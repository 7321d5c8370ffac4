"""Writing a generated sequence in the GOT-10k and VOT on-disk layouts at once.

Frames are encoded once, as JPEG in the GOT-10k folder, and hard-linked into the VOT
``color/`` folder (copied where hard links are not possible), so the two layouts cost
the disk space of one. Each sequence is written into a temporary folder and renamed
into place when complete, so an interrupted ``make-dataset`` leaves no half sequence
and a rerun carries on where it stopped.

GOT-10k files per sequence: ``00000001.jpg ...``, ``groundtruth.txt`` (box of the
visible part; ``nan`` rows where nothing is visible), ``absence.label`` (1 = no part
of the target inside the frame), ``cover.label`` (visible fraction in GOT-10k's nine
bins), ``cut_by_image.label`` and ``meta_info.ini``.

VOT files per sequence: ``sequence`` (metadata), ``color/00000001.jpg ...``,
``groundtruth.txt`` (one ``m...`` RLE mask line per frame), ``anchor.value`` (1 at
the frames where an independent run starts), ``occlusion.tag`` and
``camera_motion.tag``.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from trackerzoo.datasets.synthetic.render import FrameTruth
from trackerzoo.formats.regions import Mask, format_region

GOT10K_DIR = "got10k"
VOT_DIR = "vot"
FRAME_NAME = "{:08d}.jpg"
# VOT2020 places an anchor roughly every 50 frames; a run needs some frames to matter.
ANCHOR_SPACING = 50
MIN_RUN_FRAMES = 10


def cover_label(cover: float) -> int:
    """GOT-10k bins: 0 = fully hidden, 1..7 = (0,15%], (15,30%] ... (90,100%), 8 = 100%."""
    if cover <= 0.0:
        return 0
    if cover >= 1.0:
        return 8
    return min(7, max(1, math.ceil(cover / 0.15 - 1e-9)))


def choose_anchors(visible: np.ndarray, cover: np.ndarray) -> list[int]:
    """Forward anchors every ~``ANCHOR_SPACING`` frames, each moved to the next frame where
    at least half of the target is visible (a run is initialised from that frame's mask)."""
    length = visible.size
    anchors = [0]
    candidate = ANCHOR_SPACING
    while candidate < length - MIN_RUN_FRAMES:
        usable = np.flatnonzero(cover[candidate:length - MIN_RUN_FRAMES] >= 0.5)
        if usable.size == 0:
            break
        anchor = candidate + int(usable[0])
        anchors.append(anchor)
        candidate = anchor + ANCHOR_SPACING
    return anchors


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _lines(values: Iterable[object]) -> str:
    return "".join(f"{value}\n" for value in values)


def _box_line(box: np.ndarray) -> str:
    if np.isnan(box).any():
        return "nan,nan,nan,nan"
    return ",".join(str(int(v)) for v in box)


class SequenceWriter:
    """Streams frames of one sequence to disk; ``finish`` writes annotations and commits."""

    def __init__(self, root: Path, name: str, frame_size: tuple[int, int], jpeg_quality: int = 90) -> None:
        self.name = name
        self.frame_size = frame_size
        self._final = {GOT10K_DIR: root / GOT10K_DIR / name, VOT_DIR: root / VOT_DIR / name}
        self._work = {key: path.with_name(f".partial-{name}") for key, path in self._final.items()}
        for path in self._work.values():
            if path.exists():
                shutil.rmtree(path)
            path.mkdir(parents=True)
        (self._work[VOT_DIR] / "color").mkdir()
        self._quality = int(jpeg_quality)
        self._truths: list[FrameTruth] = []
        self._mask_lines: list[str] = []

    def add(self, truth: FrameTruth) -> None:
        index = len(self._mask_lines) + 1
        frame_name = FRAME_NAME.format(index)
        got_path = self._work[GOT10K_DIR] / frame_name
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(truth.image, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, self._quality])
        if not ok:
            raise ValueError(f"JPEG encoding failed for frame {index} of {self.name!r}")
        got_path.write_bytes(encoded.tobytes())
        _link_or_copy(got_path, self._work[VOT_DIR] / "color" / frame_name)
        self._mask_lines.append(format_region(Mask(truth.mask)))
        # Keep the per-frame scalars only (not images or masks): memory stays small.
        self._truths.append(FrameTruth(np.empty((0, 0, 3), np.uint8), np.empty((0, 0), bool), truth.box,
                                       truth.visible, truth.in_view, truth.cover, truth.cut_by_image,
                                       truth.occluded))

    def finish(self, *, camera_motion: bool, description: str) -> list[int]:
        """Write annotation files, move both folders into place, return the anchors."""
        truths = self._truths
        visible = np.array([t.visible for t in truths])
        cover = np.array([t.cover for t in truths])
        anchors = choose_anchors(visible, cover)
        got = self._work[GOT10K_DIR]
        (got / "groundtruth.txt").write_text(_lines(_box_line(t.box) for t in truths))
        (got / "absence.label").write_text(_lines(int(not t.in_view) for t in truths))
        (got / "cover.label").write_text(_lines(cover_label(t.cover) for t in truths))
        (got / "cut_by_image.label").write_text(_lines(int(t.cut_by_image) for t in truths))
        width, height = self.frame_size
        (got / "meta_info.ini").write_text(
            "[METAINFO]\n"
            f"object_class: {description}\n"
            "motion_class: synthetic\n"
            "major_class: composited\n"
            "root_class: object\n"
            "motion_adverb: smoothly\n"
            f"resolution: ({width}, {height})\n"
            "anno_fps: 30Hz\n"
            "url: trackerzoo make-dataset\n"
        )
        vot = self._work[VOT_DIR]
        (vot / "sequence").write_text(
            "channels.color=color/%08d.jpg\n"
            "format=default\n"
            "fps=30\n"
            f"name={self.name}\n"
        )
        (vot / "groundtruth.txt").write_text(_lines(self._mask_lines))
        anchor_set = set(anchors)
        (vot / "anchor.value").write_text(_lines(1 if i in anchor_set else 0 for i in range(len(truths))))
        (vot / "occlusion.tag").write_text(_lines(int(t.occluded) for t in truths))
        (vot / "camera_motion.tag").write_text(_lines(int(camera_motion) for _ in truths))
        for key in (VOT_DIR, GOT10K_DIR):  # GOT-10k last: its presence marks the sequence done
            if self._final[key].exists():
                shutil.rmtree(self._final[key])
            os.replace(self._work[key], self._final[key])
        return anchors

    def abort(self) -> None:
        for path in self._work.values():
            shutil.rmtree(path, ignore_errors=True)


def sequence_done(root: Path, name: str) -> bool:
    return (root / GOT10K_DIR / name / "groundtruth.txt").is_file() and (root / VOT_DIR / name / "sequence").is_file()


def write_lists(root: Path, names: list[str]) -> None:
    for layout in (GOT10K_DIR, VOT_DIR):
        (root / layout).mkdir(parents=True, exist_ok=True)
        (root / layout / "list.txt").write_text(_lines(names))
