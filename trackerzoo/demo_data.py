"""The clip bundled for ``trackerzoo demo``, the people annotated in it, and a check against them.

Five people of the clip carry hand-drawn boxes every 10 frames
(``data/vtest_pedestrian_people.json``), so that "the tracker kept its target" is a
measured statement about a real video, not an impression from a contact sheet.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from trackerzoo.geometry import box_iou_elementwise

DATA_DIR = Path(__file__).resolve().parent / "data"
# The first 200 frames of OpenCV's sample video vtest.avi (a pedestrian scene), from
# Debian's opencv-doc package, re-encoded as MP4. Licence: see data/README.md.
DEMO_CLIP = DATA_DIR / "vtest_pedestrian.mp4"
DEMO_LICENSE = "OpenCV sample data, BSD-3-Clause"
DEMO_PEOPLE_FILE = DATA_DIR / "vtest_pedestrian_people.json"
# The man in a dark coat standing left of the lamp post in frame 0, who then walks right
# (the "leather-jacket" person of the annotations; the demo's target until November 2026).
DEMO_INIT_BOX = (253.0, 220.0, 30.0, 90.0)

# Whom ``trackerzoo demo`` tracks by default (see README, "The demo clip's people").
DEMO_PERSON = "red-jacket"

Box = tuple[float, float, float, float]


@dataclasses.dataclass(frozen=True)
class AnnotatedPerson:
    """One annotated person: keyframe boxes (``None`` where out of the frame)."""

    name: str
    description: str
    boxes: Mapping[int, Box | None]

    @property
    def first_frame(self) -> int:
        """The first keyframe with a box: where a tracker is initialised on this person."""
        return min(frame for frame, box in self.boxes.items() if box is not None)

    @property
    def init_box(self) -> Box:
        return self.boxes[self.first_frame]


@functools.cache
def load_demo_people() -> dict[str, AnnotatedPerson]:
    """The annotated people of the demo clip, by name."""
    raw = json.loads(DEMO_PEOPLE_FILE.read_text())
    people = {}
    for name, entry in raw["people"].items():
        boxes = {int(frame): None if box is None else tuple(float(v) for v in box)
                 for frame, box in entry["boxes"].items()}
        people[name] = AnnotatedPerson(name, entry["description"], boxes)
    return people


def demo_person(name: str) -> AnnotatedPerson:
    """The annotated person called ``name``; a ValueError lists the names when it is unknown."""
    people = load_demo_people()
    if name not in people:
        raise ValueError(f"no annotated person {name!r} in the demo clip; choose one of {', '.join(people)}")
    return people[name]


@dataclasses.dataclass(frozen=True)
class KeyframeCheck:
    """How a tracked box sequence compares with one person's keyframes after the first."""

    checked: int  # keyframes where the person is in the frame
    on_target: int  # ... where the tracked box's centre lies inside the person's box
    first_miss: int | None  # the first such keyframe where it does not
    mean_iou: float  # tracked box against the (whole-body) annotated box

    def summary(self) -> str:
        miss = "never off" if self.first_miss is None else f"first off at frame {self.first_miss}"
        return (f"on target at {self.on_target}/{self.checked} annotated keyframes ({miss}); "
                f"mean IoU {self.mean_iou:.2f}")


def check_keyframes(person: AnnotatedPerson, tracked: Sequence[Sequence[float]], start_frame: int) -> KeyframeCheck:
    """Score ``tracked`` (one x,y,w,h per frame from ``start_frame`` on) against ``person``.

    A keyframe counts as on target when the centre of the tracked box lies inside the
    annotated box: a box that slid onto a neighbour, or widened over a pair so that its
    centre falls between them, does not. The initial frame itself is not counted.
    """
    checked = on_target = 0
    first_miss = None
    ious = []
    for frame in sorted(person.boxes):
        truth = person.boxes[frame]
        index = frame - start_frame
        if truth is None or index <= 0 or index >= len(tracked):
            continue
        x, y, w, h = (float(v) for v in tracked[index])
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise ValueError(f"tracked box of frame {frame} is not finite: {tracked[index]!r}")
        cx, cy = x + w / 2.0, y + h / 2.0
        inside = truth[0] <= cx <= truth[0] + truth[2] and truth[1] <= cy <= truth[1] + truth[3]
        checked += 1
        on_target += inside
        if not inside and first_miss is None:
            first_miss = frame
        ious.append(float(box_iou_elementwise(np.array([x, y, w, h]), np.array(truth))))
    return KeyframeCheck(checked, on_target, first_miss, sum(ious) / len(ious) if ious else float("nan"))
