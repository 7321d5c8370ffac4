"""The one tracking loop: one tracker over one frame source, timing the tracker alone.

``run_tracker`` is the loop every harness drives trackers through: ``trackerzoo track``
and ``trackerzoo demo`` (streaming each step to disk), ``track_video`` (the public
iterator of predictions), the OPE protocol (``run_ope``: the
evaluation runner and training's validation by tracking), the runner's VOT protocol, the
benchmarks and the tests. It separates the time spent inside ``initialize``/``track``
(what FPS reports) from decoding and drawing: frames are pulled from the source before
the clock starts.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from trackerzoo.api import create
from trackerzoo.frames import FrameReader, camera_index, check_range
from trackerzoo.geometry import mask_to_box
from trackerzoo.prediction import Prediction
from trackerzoo.tracker import Tracker


@dataclasses.dataclass(frozen=True)
class FrameResult:
    """One step of the loop.

    ``index`` is the frame's position in the source (0 = the initialisation frame),
    ``frame`` the frame as the source gave it, ``prediction`` the tracker's output (for
    frame 0: the initial target, score 1.0), ``seconds`` the wall time of that frame's
    ``initialize`` (frame 0) or ``track`` call alone.
    """

    index: int
    frame: np.ndarray
    prediction: Prediction
    seconds: float


def initial_prediction(init_box: Any = None, init_mask: np.ndarray | None = None) -> Prediction:
    """The target given at frame 0 as a ``Prediction``: the box when given, else the mask's tight box.

    Raises ``ValueError`` when neither is given or the mask has no true pixel.
    """
    mask = None if init_mask is None else np.asarray(init_mask).astype(bool)
    if init_box is not None:
        box = tuple(float(v) for v in init_box)
    elif mask is not None and mask.any():
        box = tuple(float(v) for v in mask_to_box(mask))
    else:
        raise ValueError(f"the initial target needs a box or a non-empty mask; got box={init_box!r}, "
                         f"mask={'None' if mask is None else 'empty'}")
    return Prediction(box=box, score=1.0, mask=mask)


def run_tracker(
    tracker: Tracker,
    frames: Iterable[np.ndarray],
    *,
    init_box: Any = None,
    init_mask: np.ndarray | None = None,
) -> Iterator[FrameResult]:
    """Initialise ``tracker`` on the first frame of ``frames``, then track every later frame.

    ``frames`` yields RGB ``uint8`` ``(H, W, 3)`` arrays (anything ``Tracker`` accepts);
    it is consumed lazily, one frame per step, so a caller may stop early. ``init_box``
    is ``(x, y, w, h)`` in pixels and/or ``init_mask`` an ``(H, W)`` boolean array, passed
    to ``tracker.initialize`` as given. Yields one ``FrameResult`` per frame, frame 0
    first. Raises ``ValueError`` when ``frames`` is empty or the target is missing
    (``initial_prediction``), and whatever ``initialize``/``track`` raise.
    """
    iterator: Iterator[np.ndarray] = iter(frames)
    try:
        first = next(iterator)
    except StopIteration:
        raise ValueError("the frame source yields no frames") from None
    start = time.perf_counter()
    tracker.initialize(first, box=init_box, mask=init_mask)
    seconds = time.perf_counter() - start
    yield FrameResult(0, first, initial_prediction(init_box, init_mask), seconds)
    for index, frame in enumerate(iterator, start=1):
        start = time.perf_counter()
        prediction = tracker.track(frame)
        seconds = time.perf_counter() - start
        yield FrameResult(index, frame, prediction, seconds)


def track_video(
    tracker_or_name: Tracker | str | type[Tracker],
    source: str | os.PathLike | int | Iterable[np.ndarray],
    box: Any = None,
    mask: np.ndarray | None = None,
    *,
    start: int = 0,
    end: int | None = None,
) -> Iterator[Prediction]:
    """Track one target through a video, folder of images, glob, camera or iterable of frames.

    ``tracker_or_name`` is a ``Tracker``, or a registered name or ``Tracker`` class built
    with ``trackerzoo.create`` (default variant, weights and parameters). ``source`` is a video
    file, a folder of images (natural name order), a glob such as ``"frames/*.jpg"``, a
    camera index (``0``), or an iterable of **RGB** ``uint8`` ``(H, W, 3)`` frames. Frames
    read from files or cameras are converted to RGB here; arrays straight from
    ``cv2.imread``/``cv2.VideoCapture`` are BGR and must be converted by the caller
    (``cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)``). ``box`` is the target's ``(x, y, w, h)``
    in pixels and/or ``mask`` an ``(H, W)`` boolean array on frame ``start``; frames
    ``start`` to ``end - 1`` are tracked (``end`` exclusive, ``None`` = to the end).

    Yields one ``Prediction`` per frame, lazily: frame ``start`` first (the given target,
    score 1.0), then the tracker's output for each later frame; frames are not kept.
    Raises ``ValueError`` (before anything is read) for a bad range, a missing target or
    a source that cannot be opened, and ``TrackerNotFoundError`` for an unknown name.
    """
    start, end = check_range(start, end)
    if box is None and mask is None:
        raise ValueError("track_video needs the target on its first frame: box=(x, y, w, h) and/or mask=")
    if isinstance(source, (str, os.PathLike)) or camera_index(source) is not None:
        frames: Iterable[np.ndarray] = FrameReader(source).frames(start, end)  # type: ignore[arg-type]
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, np.ndarray)):
        frames = itertools.islice(source, start, end)
    else:
        raise ValueError(f"source must be a path, a glob, a camera index or an iterable of RGB frames, got {source!r}")
    if isinstance(tracker_or_name, (str, type)):
        tracker = create(tracker_or_name)
    elif isinstance(tracker_or_name, Tracker):
        tracker = tracker_or_name
    else:
        raise ValueError(f"tracker_or_name must be a Tracker, a Tracker class or a registered name, "
                         f"got {tracker_or_name!r}")
    return (step.prediction for step in run_tracker(tracker, frames, init_box=box, init_mask=mask))


@dataclasses.dataclass
class TrackingRun:
    """Per-frame predictions (frame 0 holds the initial target) and tracker-only times."""

    predictions: list[Prediction]
    seconds: list[float]

    @property
    def fps(self) -> float:
        """Frames per second of ``track()`` calls alone (the first frame's initialisation excluded)."""
        tracked = self.seconds[1:]
        return len(tracked) / sum(tracked) if tracked and sum(tracked) > 0 else float("nan")


def track_frames(
    tracker: Tracker,
    frames: Iterable[np.ndarray],
    *,
    init_box: Any = None,
    init_mask: np.ndarray | None = None,
    on_frame: Callable[[int, np.ndarray, Prediction], None] | None = None,
) -> TrackingRun:
    """``run_tracker`` to the end, collected; ``on_frame(index, frame, prediction)`` runs after each frame."""
    run = TrackingRun(predictions=[], seconds=[])
    for step in run_tracker(tracker, frames, init_box=init_box, init_mask=init_mask):
        run.predictions.append(step.prediction)
        run.seconds.append(step.seconds)
        if on_frame is not None:
            on_frame(step.index, step.frame, step.prediction)
    return run


def ope_target(sequence: Any, accepts_mask: bool) -> tuple[np.ndarray, tuple[float, ...] | None, np.ndarray | None]:
    """The OPE initialisation of ``sequence``: ``(first_box, init_box, init_mask)``.

    ``first_box`` ``(4,)`` is the ground truth of frame 0 (``x, y, w, h`` pixels, the
    result file's first row); a mask tracker (``accepts_mask``) starts from frame 0's
    mask when the sequence has one with pixels (``init_box`` ``None``), every other
    tracker from ``first_box`` (``init_mask`` ``None``). Raises ``ValueError`` when frame
    0 has no finite box.
    """
    first_box = np.asarray(sequence.boxes[0], dtype=np.float64)
    if first_box.shape != (4,) or not np.all(np.isfinite(first_box)):
        raise ValueError(f"sequence {sequence.name!r} has no ground-truth box on frame 0 to initialise from: "
                         f"{sequence.boxes[0]!r}")
    mask = sequence.mask(0) if accepts_mask and sequence.has_masks else None
    if mask is not None and bool(mask.any()):
        return first_box, None, mask
    return first_box, tuple(float(v) for v in first_box), None


@dataclasses.dataclass
class OPERun:
    """What the OPE protocol records per frame ``[T]``: boxes ``[T, 4]`` (``x, y, w, h`` pixels, row 0 the
    ground truth), tracker-only seconds, whether the target was reported present (row 0 True) and the
    score (presence confidence; row 0 NaN: the initialisation has none)."""

    boxes: np.ndarray
    seconds: list[float]
    present: np.ndarray
    confidence: np.ndarray


def run_ope_full(tracker: Tracker, sequence: Any, *, max_frames: int | None = None) -> OPERun:
    """``run_ope`` that also records ``Prediction.present`` and ``Prediction.score`` per frame (``OPERun``).

    While the tracker reports the target absent its box row is the last box it reported
    present (``Prediction`` keeps it), the GOT-10k/LaSOT convention of keeping a box.
    """
    length = len(sequence) if max_frames is None else min(len(sequence), int(max_frames))
    first_box, init_box, init_mask = ope_target(sequence, getattr(tracker, "accepts_mask", False))
    frames = (sequence.frame(index) for index in range(length))
    steps = run_tracker(tracker, frames, init_box=init_box, init_mask=init_mask)
    run = OPERun(np.full((length, 4), np.nan), [], np.ones(length, dtype=bool), np.full(length, np.nan))
    for step in steps:
        run.seconds.append(step.seconds)
        if step.index == 0:
            run.boxes[0] = first_box
            continue
        run.boxes[step.index] = step.prediction.box
        # a duck-typed prediction (a box only) of a tracker written before presence counts as present
        run.present[step.index] = bool(getattr(step.prediction, "present", True))
        run.confidence[step.index] = getattr(step.prediction, "score", math.nan)
    return run


def run_ope(tracker: Tracker, sequence: Any, *, max_frames: int | None = None) -> tuple[np.ndarray, list[float]]:
    """The one-pass evaluation (OPE) protocol of OTB/LaSOT/GOT-10k through ``run_tracker``.

    ``sequence`` is a ``trackerzoo.datasets.Sequence`` (``frame(i)``, ``boxes`` ``[T, 4]``,
    ``has_masks``, ``mask(i)``). Mask trackers start from frame 0's mask when the sequence
    has one with pixels, every other tracker from the ground-truth box of frame 0; the
    first ``max_frames`` frames (all when ``None``) are tracked. Returns the boxes
    ``[T, 4]`` (``x, y, w, h`` pixels; row 0 is the ground truth) and the tracker-only
    seconds per frame. Raises ``ValueError`` when frame 0 has no finite box.
    """
    run = run_ope_full(tracker, sequence, max_frames=max_frames)
    return run.boxes, run.seconds
