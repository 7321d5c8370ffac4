"""Batched tracking: ``n`` independent sequences advanced in lockstep by one object.

``trackerzoo.create_batch(name, n)`` returns a ``BatchTracker``. Each of its ``n``
*slots* tracks one sequence of its own: slots start, restart and end individually, and
a slot given no frame in a step keeps its state and returns ``None``. A tracker whose
structure allows it shares work across slots (CRACT runs one backbone call over all
search regions per step); every other tracker gets ``LoopBatchTracker``, ``n``
ordinary trackers called one after another, which is what a native implementation
must equal.

Input is checked here, once, as ``Tracker.initialize``/``track`` check it; the
subclass hooks ``_initialize_slot``, ``_release_slot`` and ``_track_slots`` receive
canonical data (RGB ``uint8`` frames ``(H, W, 3)``, boxes ``(x, y, w, h)`` in pixels,
boolean masks ``(H, W)``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from trackerzoo import validation
from trackerzoo.errors import NotInitializedError
from trackerzoo.prediction import Prediction
from trackerzoo.tracker import Tracker, checked_target


def check_batch_size(n: object) -> int:
    """``n`` as a number of slots; ``ValueError`` naming it unless it is an integer >= 1 (not a bool)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"a batch needs an integer number of sequences >= 1, got {n!r}")
    return int(n)


class BatchTracker(abc.ABC):
    """``n`` slots, each tracking one sequence; all slots advance in one ``track`` call.

    Subclasses set ``outputs`` and ``name`` (for messages) and implement the three hooks.
    A slot is *active* between ``initialize_slot`` (or ``initialize``) and ``release``.
    """

    def __init__(self, n: int, *, outputs: frozenset[str] = frozenset({"box"}), name: str = "tracker") -> None:
        self.n = check_batch_size(n)
        self.outputs = frozenset(outputs)
        self.name = name
        self._frame_hw: list[tuple[int, int] | None] = [None] * self.n

    def __len__(self) -> int:
        return self.n

    @property
    def accepts_mask(self) -> bool:
        return "mask" in self.outputs

    @property
    def active(self) -> tuple[bool, ...]:
        """For each slot whether it holds a sequence (``track`` may give it a frame)."""
        return tuple(hw is not None for hw in self._frame_hw)

    def _slot(self, index: object) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < self.n:
            raise ValueError(f"slot index must be an integer in [0, {self.n}), got {index!r}")
        return int(index)

    def _per_slot(self, what: str, values: Sequence[Any] | None) -> list[Any]:
        if values is None:
            return [None] * self.n
        if isinstance(values, np.ndarray) or not isinstance(values, Sequence) or isinstance(values, (str, bytes)):
            raise ValueError(f"{what} must be a list with one entry per slot ({self.n}), got {type(values).__name__}")
        if len(values) != self.n:
            raise ValueError(f"{what} must have one entry per slot: expected {self.n}, got {len(values)}")
        return list(values)

    def initialize(self, frames: Sequence[np.ndarray | None], boxes: Sequence[Any] | None = None,
                   masks: Sequence[Any] | None = None) -> None:
        """Start every slot whose entry of ``frames`` is a frame; release the slots whose entry is ``None``.

        ``frames``, ``boxes`` and ``masks`` are lists of length ``n``: frame ``i`` is an
        RGB ``uint8`` ``(H, W, 3)`` array (or gray/RGBA, converted), box ``i`` an
        ``(x, y, w, h)`` in its pixels, mask ``i`` an ``(H, W)`` boolean array; each started
        slot needs a box or a mask. Raises ``ValueError`` for lists of another length and
        for any bad frame or target (naming the slot); all entries are checked before any
        slot changes.
        """
        frames = self._per_slot("frames", frames)
        boxes = self._per_slot("boxes", boxes)
        masks = self._per_slot("masks", masks)
        checked = []
        for index, (frame, box, mask) in enumerate(zip(frames, boxes, masks, strict=True)):
            if frame is None:
                checked.append(None)
                continue
            try:
                checked.append(checked_target(frame, box, mask, self.accepts_mask, self.name))
            except ValueError as exc:
                raise ValueError(f"slot {index}: {exc}") from None
        for index, target in enumerate(checked):
            if target is None:
                self.release(index)
            else:
                self._start(index, *target)

    def initialize_slot(self, index: int, frame: np.ndarray, box: Any = None, mask: Any = None) -> None:
        """Start (or restart) slot ``index`` on ``frame`` with ``box`` (x, y, w, h) or ``mask``; others go on.

        Raises ``ValueError`` for a bad index, frame or target.
        """
        index = self._slot(index)
        try:
            target = checked_target(frame, box, mask, self.accepts_mask, self.name)
        except ValueError as exc:
            raise ValueError(f"slot {index}: {exc}") from None
        self._start(index, *target)

    def _start(self, index: int, frame: np.ndarray, box: tuple[float, float, float, float],
               mask: np.ndarray | None) -> None:
        self._frame_hw[index] = None  # a failed start leaves the slot idle
        self._initialize_slot(index, frame, box, mask)
        self._frame_hw[index] = (frame.shape[0], frame.shape[1])

    def release(self, index: int) -> None:
        """End the sequence of slot ``index`` (no-op for an idle slot); ``ValueError`` for a bad index."""
        index = self._slot(index)
        if self._frame_hw[index] is not None:
            self._frame_hw[index] = None
            self._release_slot(index)

    def track(self, frames: Sequence[np.ndarray | None]) -> list[Prediction | None]:
        """Advance every slot given a frame by one step; ``None`` entries (and results) for the others.

        ``frames`` has one entry per slot: the slot's next frame, of the size it was started
        with, or ``None`` to leave the slot as it is this step. Raises ``ValueError`` for a
        list of another length, a bad frame or a changed frame size, and
        ``NotInitializedError`` for a frame given to an idle slot (each naming the slot).
        """
        frames = self._per_slot("frames", frames)
        indices: list[int] = []
        checked: list[np.ndarray] = []
        for index, frame in enumerate(frames):
            if frame is None:
                continue
            frame_hw = self._frame_hw[index]
            if frame_hw is None:
                raise NotInitializedError(f"slot {index} got a frame but holds no sequence: "
                                          "call initialize() or initialize_slot() first")
            try:
                frame = validation.as_rgb_frame(frame)
            except ValueError as exc:
                raise ValueError(f"slot {index}: {exc}") from None
            if (frame.shape[0], frame.shape[1]) != frame_hw:
                raise ValueError(f"slot {index}: frame size changed mid-sequence: got {frame.shape[1]}x"
                                 f"{frame.shape[0]} (WxH), started with {frame_hw[1]}x{frame_hw[0]}")
            indices.append(index)
            checked.append(frame)
        results: list[Prediction | None] = [None] * self.n
        if indices:
            for index, prediction in zip(indices, self._track_slots(indices, checked), strict=True):
                results[index] = prediction
        return results

    @abc.abstractmethod
    def _initialize_slot(self, index: int, frame: np.ndarray, box: tuple[float, float, float, float],
                         mask: np.ndarray | None) -> None:
        """Plugin hook: start slot ``index`` (canonical frame, valid box, mask or ``None``)."""

    @abc.abstractmethod
    def _release_slot(self, index: int) -> None:
        """Plugin hook: drop what slot ``index`` holds."""

    @abc.abstractmethod
    def _track_slots(self, indices: list[int], frames: list[np.ndarray]) -> list[Prediction]:
        """Plugin hook: one ``Prediction`` per active slot in ``indices`` (ascending) for its frame."""


class LoopBatchTracker(BatchTracker):
    """The fallback for any tracker: one ordinary ``Tracker`` per slot, called in turn.

    ``trackers`` must be ``n`` distinct instances (state lives on the instance).
    """

    def __init__(self, trackers: Sequence[Tracker]) -> None:
        trackers = list(trackers)
        if not trackers or not all(isinstance(t, Tracker) for t in trackers):
            raise ValueError(f"LoopBatchTracker needs a non-empty list of Trackers, got {trackers!r}")
        if len({id(t) for t in trackers}) != len(trackers):
            raise ValueError("LoopBatchTracker needs a distinct Tracker per slot; the same instance appears twice")
        super().__init__(len(trackers), outputs=trackers[0].outputs, name=type(trackers[0]).__name__)
        self.trackers = trackers

    def _initialize_slot(self, index: int, frame: np.ndarray, box: tuple[float, float, float, float],
                         mask: np.ndarray | None) -> None:
        self.trackers[index].initialize(frame, box=box, mask=mask)

    def _release_slot(self, index: int) -> None:
        """Nothing to drop: the slot's tracker is reinitialised when the slot starts again."""

    def _track_slots(self, indices: list[int], frames: list[np.ndarray]) -> list[Prediction]:
        return [self.trackers[index].track(frame) for index, frame in zip(indices, frames, strict=True)]
