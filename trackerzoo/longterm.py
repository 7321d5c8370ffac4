"""Long-term tracking for any tracker: know when the target is gone, find it again (issue #22).

A tracker opts in by implementing ``Redetector`` (score candidate regions of a frame
against its target model, stop its online updates, move to a re-found box);
``trackerzoo.create(name, long_term=True)`` then wraps it in ``LongTermTracker``, which
runs this state machine, in the spirit of the long-term trackers of VOT-LT (SiamRPN++-LT's
widening search, MDNet-style verification, LTMU's global re-detection):

    PRESENT    the tracker tracks as in short-term mode; its presence confidence c_t
               (``Redetector.presence``) is the frame's score. Online updates run only
               while c_t >= lost_threshold. After ``lost_after`` consecutive frames with
               c_t < lost_threshold the target is declared absent -> ABSENT.
    ABSENT     no online update; ``present`` False and ``box`` the last box reported with
               c_t >= lost_threshold. The first ``widen_frames`` frames search one region
               ``widen_factor`` times the normal search region around that box; later
               frames search one normal region at that box (targets often come back where
               they left) plus ``tiles_per_frame`` tiles of a sweep over the whole frame,
               round robin: the frame tiled by search regions (centres ``tile_stride``
               region sides apart) for the last target size, then again for a target
               ``grown_scale`` times larger (a target that came closer while away).
               The best candidate that reaches ``reacquire_threshold`` and passes the
               tracker's verification against the initial and the recent target appearance
               (every value of ``Candidate.checks`` >= ``verify_threshold``) -> CONFIRM.
    CONFIRM    the next frame scores one region at the candidate; if the best candidate
               there passes again within ``confirm_distance`` target sizes of the first one,
               the tracker moves there (``Redetector.reacquire``), updates resume -> PRESENT;
               otherwise -> ABSENT (the sweep continues).

The default is short-term: ``create(name)`` returns the tracker itself, unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from trackerzoo.params import Relation, param, validate_params
from trackerzoo.prediction import Prediction
from trackerzoo.tracker import Tracker

PRESENT, ABSENT, CONFIRM = "present", "absent", "confirm"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """The best box of one searched region.

    ``box`` is ``(x, y, w, h)`` in frame pixels; ``confidence`` the tracker's presence
    confidence for it, in [0, 1] (the same quantity as ``Redetector.presence``);
    ``checks`` the verifier's scores in [0, 1], one per appearance it compares with
    (e.g. ``{"initial": ..., "recent": ...}``); re-acquisition needs all of them high.
    """

    box: tuple[float, float, float, float]
    confidence: float
    checks: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def centre(self) -> np.ndarray:
        """``(x, y)`` in frame pixels."""
        x, y, w, h = self.box
        return np.array([x + w / 2.0, y + h / 2.0])


@runtime_checkable
class Redetector(Protocol):
    """What a tracker implements to run in long-term mode.

    ``long_term_defaults`` (a class attribute) holds the tracker's own values of
    ``LongTermParams`` fields (its thresholds, chosen for its confidence), which user
    overrides replace.
    """

    long_term_defaults: ClassVar[dict[str, Any]]

    def presence(self, prediction: Prediction) -> float:
        """Presence confidence in [0, 1] of the tracker's last ``track`` result."""

    def search_side(self) -> float:
        """Side of the tracker's normal search region around the target, frame pixels."""

    def score_regions(self, frame: np.ndarray, centres: np.ndarray, factor: float,
                      scale: float = 1.0) -> list[Candidate]:
        """Best candidate of each square region centred at ``centres`` ``[N, 2]`` (x, y pixels).

        A region is ``factor`` times the search region the tracker would use for a target
        ``scale`` times the last target size (so ``scale`` also scales the region). Each
        candidate is scored against the target model without changing the tracker's
        state: no update, no move. ``frame`` is the canonical RGB ``uint8`` ``(H, W, 3)``.
        """

    def set_online_updates(self, enabled: bool) -> None:
        """Allow or stop the tracker's online model updates."""

    def reacquire(self, box: tuple[float, float, float, float]) -> None:
        """Continue tracking from ``box`` (x, y, w, h, pixels): a verified re-detection."""


def _check_fraction(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{value!r} is not in [0, 1]")


@dataclasses.dataclass
class LongTermParams:
    """Settings of the long-term state machine (module docstring); thresholds are presence confidences."""

    lost_threshold: float = param(0.3, low=0.0, high=1.0,
                                  help="presence confidence below which a frame counts as low (and updates stop)")
    lost_after: int = param(3, low=1, high=1000, help="consecutive low frames after which the target is absent")
    reacquire_threshold: float = param(0.6, low=0.0, high=1.0,
                                       help="presence confidence a re-detected candidate needs")
    verify_threshold: float = param(0.5, low=0.0, high=1.0,
                                    help="every verifier check (initial, recent appearance) must reach this")
    widen_frames: int = param(5, low=0, high=1000, help="frames of widened local search after the loss")
    widen_factor: float = param(2.0, low=1.0, high=8.0, help="side of the widened region, in search regions")
    tile_stride: float = param(0.5, low=0.1, high=2.0, help="distance of global-search tiles, in search sides")
    tiles_per_frame: int = param(2, low=1, high=1000, help="global-search tiles scored per frame (sliding)")
    grown_scale: float = param(2.0, low=1.0, high=8.0,
                               help="second sweep of the frame assumes a target this many times larger (1: none)")
    confirm_distance: float = param(1.0, low=0.0, high=100.0,
                                    help="largest move between finding and confirming a candidate, target sizes")

    relations: ClassVar[tuple[Relation, ...]] = (
        Relation("reacquire_threshold >= lost_threshold", lambda p: p.reacquire_threshold >= p.lost_threshold),
    )


def long_term_params(tracker: Tracker, overrides: dict[str, Any] | None = None) -> LongTermParams:
    """``LongTermParams`` of ``tracker``: its ``long_term_defaults`` under ``overrides``.

    Raises ``ValueError`` naming an unknown field or a value outside its declaration.
    """
    values = {**getattr(tracker, "long_term_defaults", {}), **(overrides or {})}
    valid = {f.name for f in dataclasses.fields(LongTermParams)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(f"unknown long-term parameter(s) {unknown}; valid: {', '.join(sorted(valid))}")
    params = LongTermParams(**values)
    validate_params(params, "long-term mode")
    return params


def global_tiles(frame_hw: tuple[int, int], side: float, stride: float) -> np.ndarray:
    """Centres ``[N, 2]`` (x, y pixels) of search regions of ``side`` pixels tiling the frame.

    Neighbouring centres are at most ``stride * side`` apart and the grid is spread evenly
    over the frame, row by row from the top left.
    """
    height, width = frame_hw
    step = max(stride * side, 1.0)
    columns, rows = max(1, math.ceil(width / step)), max(1, math.ceil(height / step))
    xs = (np.arange(columns) + 0.5) * width / columns
    ys = (np.arange(rows) + 0.5) * height / rows
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


class LongTermTracker(Tracker):
    """A ``Redetector`` tracker run through the long-term state machine (module docstring).

    ``Prediction.score`` is the presence confidence (the tracker's, in [0, 1]) and
    ``Prediction.present`` the state machine's verdict; ``extra`` carries ``state``
    (present, absent or confirm) and ``regions`` (regions scored this frame).
    """

    Params = LongTermParams

    def __init__(self, inner: Tracker, params: LongTermParams | None = None) -> None:
        if not isinstance(inner, Redetector):
            raise ValueError(f"tracker {type(inner).__name__} has no long-term mode: it does not implement "
                             "trackerzoo.longterm.Redetector (presence, search_side, score_regions, "
                             "set_online_updates, reacquire)")
        super().__init__(params if params is not None else long_term_params(inner), variant=inner.variant,
                         weights=inner.weights, device=inner.device)
        self.inner = inner
        self.outputs = inner.outputs  # type: ignore[misc]  # per instance: the inner tracker's outputs

    @property
    def redetector(self) -> Redetector:
        return self.inner  # type: ignore[return-value]

    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        self.inner.initialize(frame, box=box, mask=mask)
        self.redetector.set_online_updates(True)
        self.state = PRESENT
        self.low_frames = 0
        self.last_box = tuple(float(v) for v in box)
        self.absent_frames = 0
        self.next_tile = 0
        self.candidate: Candidate | None = None

    def _track(self, frame: np.ndarray) -> Prediction:
        if self.state == PRESENT:
            return self._track_present(frame)
        return self._search(frame)

    # -- PRESENT ---------------------------------------------------------------------------
    def _track_present(self, frame: np.ndarray) -> Prediction:
        prediction = self.inner.track(frame)
        confidence = float(self.redetector.presence(prediction))
        if confidence >= self.params.lost_threshold:
            self.low_frames = 0
            self.last_box = prediction.box
            self.redetector.set_online_updates(True)
        else:
            self.low_frames += 1
            self.redetector.set_online_updates(False)  # never learn from a frame that may show no target
        if self.low_frames >= self.params.lost_after:
            self.state, self.absent_frames = ABSENT, 0
            return Prediction(box=self.last_box, score=confidence, present=False,
                              extra={"state": ABSENT, "regions": 0})
        return dataclasses.replace(prediction, score=confidence, present=True,
                                   extra={**prediction.extra, "state": PRESENT, "regions": 0})

    # -- ABSENT / CONFIRM --------------------------------------------------------------------
    def _sweep(self, frame: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """The global sweep: ``(centre (x, y), scale)`` of every tile, last size first, then grown."""
        p = self.params
        scales = (1.0, p.grown_scale) if p.grown_scale > 1.0 else (1.0,)
        side = self.redetector.search_side()
        return [(centre, scale) for scale in scales
                for centre in global_tiles(frame.shape[:2], side * scale, p.tile_stride)]

    def _regions(self, frame: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
        """The regions searched this frame, grouped as ``(centres [N, 2], factor, scale)``."""
        p = self.params
        if self.state == CONFIRM:
            assert self.candidate is not None
            x, y, w, h = self.last_box
            scale = float(np.clip(np.sqrt(self.candidate.box[2] * self.candidate.box[3] / max(w * h, 1e-6)), 0.25, 8.0))
            return [(self.candidate.centre[None], 1.0, scale)]
        x, y, w, h = self.last_box
        last = np.array([[x + w / 2.0, y + h / 2.0]])
        if self.absent_frames <= p.widen_frames:
            return [(last, p.widen_factor, 1.0)]
        sweep = self._sweep(frame)
        count = min(p.tiles_per_frame, len(sweep))
        chosen = [sweep[(self.next_tile + i) % len(sweep)] for i in range(count)]
        self.next_tile = (self.next_tile + count) % len(sweep)
        groups = [(last, 1.0, 1.0)]
        for scale in sorted({scale for _, scale in chosen}):
            groups.append((np.array([c for c, s in chosen if s == scale]), 1.0, scale))
        return groups

    def _passes(self, candidate: Candidate) -> bool:
        p = self.params
        return candidate.confidence >= p.reacquire_threshold and all(
            value >= p.verify_threshold for value in candidate.checks.values())

    def _search(self, frame: np.ndarray) -> Prediction:
        self.absent_frames += 1
        self.redetector.set_online_updates(False)
        groups = self._regions(frame)
        candidates = [c for centres, factor, scale in groups
                      for c in self.redetector.score_regions(frame, centres, factor, scale)]
        regions = sum(len(centres) for centres, _, _ in groups)
        best = max(candidates, key=lambda c: c.confidence) if candidates else None
        score = best.confidence if best is not None else 0.0
        found = best is not None and self._passes(best)
        if self.state == CONFIRM:
            assert self.candidate is not None
            size = max(np.sqrt(self.candidate.box[2] * self.candidate.box[3]), 1.0)
            close = found and np.linalg.norm(best.centre - self.candidate.centre) <= self.params.confirm_distance * size
            if close:
                return self._reacquire(best, regions)
            self.state, self.candidate = ABSENT, None
        elif found:
            self.state, self.candidate = CONFIRM, best
        return Prediction(box=self.last_box, score=score, present=False,
                          extra={"state": self.state, "regions": regions})

    def _reacquire(self, candidate: Candidate, regions: int) -> Prediction:
        self.redetector.reacquire(candidate.box)
        self.redetector.set_online_updates(True)
        self.state, self.candidate, self.low_frames = PRESENT, None, 0
        self.last_box = candidate.box
        return Prediction(box=candidate.box, score=candidate.confidence, present=True,
                          extra={"state": PRESENT, "regions": regions, "reacquired": True})


def make_long_term(tracker: Tracker, overrides: dict[str, Any] | None = None) -> LongTermTracker:
    """``tracker`` in long-term mode (``LongTermTracker``), with ``overrides`` of ``LongTermParams``.

    Raises ``ValueError`` when the tracker does not implement ``Redetector`` (naming it)
    or a parameter is unknown or out of range.
    """
    if not isinstance(tracker, Redetector):
        raise ValueError(f"tracker {type(tracker).__name__} has no long-term mode: it does not implement "
                         "trackerzoo.longterm.Redetector")
    return LongTermTracker(tracker, long_term_params(tracker, overrides))
