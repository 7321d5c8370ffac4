"""The ``Tracker`` protocol every plugin implements.

The public methods ``initialize`` and ``track`` validate input once, here, and then
call the plugin's ``_initialize`` / ``_track`` with canonical data. All state of a
sequence lives on the tracker instance, so two trackers never interfere and a tracker
can be driven from any loop, not only from our harness.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from trackerzoo import validation
from trackerzoo.errors import NotInitializedError
from trackerzoo.geometry import mask_to_box
from trackerzoo.params import validate_params
from trackerzoo.prediction import Prediction


def checked_target(
    frame: object, box: Any, mask: Any, accepts_mask: bool, tracker_name: str
) -> tuple[np.ndarray, tuple[float, float, float, float], np.ndarray | None]:
    """Validate a first frame and its target as ``Tracker.initialize`` (and batched slots) receive them.

    Returns the canonical RGB ``uint8`` frame ``(H, W, 3)``, the box ``(x, y, w, h)`` in
    pixels (the mask's bounding box when only ``mask`` is given) and the boolean mask
    ``(H, W)``, or ``None`` for a box-only tracker. Raises ``ValueError`` for a bad frame,
    box or mask, no target at all, or both box and mask for a box-only tracker
    (``tracker_name`` names it).
    """
    frame = validation.as_rgb_frame(frame)
    frame_hw = (frame.shape[0], frame.shape[1])
    if box is None and mask is None:
        raise ValueError("initialize() needs the target: pass box=(x, y, w, h) or mask=(H, W) array")
    checked_mask = validation.as_mask(mask, frame_hw) if mask is not None else None
    if box is not None and checked_mask is not None and not accepts_mask:
        raise ValueError(f"{tracker_name} tracks boxes only: pass either box or mask, not both")
    if box is not None:
        checked_box = validation.as_box(box, frame_hw)
    else:
        checked_box = tuple(float(v) for v in mask_to_box(checked_mask))
    return frame, checked_box, checked_mask if accepts_mask else None


@dataclasses.dataclass
class NoParams:
    """Parameter set of a tracker that has no tunable parameters."""


class Tracker(abc.ABC):
    """Base class of all trackers.

    Subclasses set ``Params`` (a dataclass of hyper-parameters, overridable through
    ``trackerzoo.create(name, **params)``; declare each field with
    ``trackerzoo.params.param`` so that it is checked here and listed by
    ``trackerzoo list --params``), ``outputs`` (``{"box"}`` or
    ``{"box", "mask"}``) and implement ``_initialize`` and ``_track``.
    """

    Params: ClassVar[type] = NoParams
    outputs: ClassVar[frozenset[str]] = frozenset({"box"})
    # Devices the implementation can run on; ``device="auto"`` picks the best of these.
    supported_devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")

    def __init__(
        self,
        params: Any = None,
        *,
        variant: str | None = None,
        weights: str | None = "default",
        device: torch.device | str = "cpu",
    ) -> None:
        self.params = params if params is not None else self.Params()
        validate_params(self.params, type(self).__name__)
        self.variant = variant
        self.weights = weights
        self.device = torch.device(device)
        self._frame_hw: tuple[int, int] | None = None

    @property
    def accepts_mask(self) -> bool:
        return "mask" in self.outputs

    @property
    def is_initialized(self) -> bool:
        return self._frame_hw is not None

    def initialize(self, frame: np.ndarray, box: Any = None, mask: Any = None) -> None:
        """Start tracking the target given by ``box`` (x, y, w, h) or ``mask`` in ``frame``.

        Box-only trackers accept a mask too and use its bounding box.
        """
        frame, checked_box, checked_mask = checked_target(frame, box, mask, self.accepts_mask, type(self).__name__)
        self._frame_hw = None  # a failed re-initialisation leaves the tracker uninitialised
        self._initialize(frame, checked_box, checked_mask)
        self._frame_hw = (frame.shape[0], frame.shape[1])

    def track(self, frame: np.ndarray) -> Prediction:
        """Locate the target in the next frame."""
        if self._frame_hw is None:
            raise NotInitializedError("track() called before initialize(): give the first frame and target")
        frame = validation.as_rgb_frame(frame)
        if (frame.shape[0], frame.shape[1]) != self._frame_hw:
            raise ValueError(
                f"frame size changed mid-sequence: got {frame.shape[1]}x{frame.shape[0]} (WxH), "
                f"initialized with {self._frame_hw[1]}x{self._frame_hw[0]}; call initialize() again"
            )
        return self._track(frame)

    @abc.abstractmethod
    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        """Plugin hook: canonical RGB frame, valid box, optional boolean mask."""

    @abc.abstractmethod
    def _track(self, frame: np.ndarray) -> Prediction:
        """Plugin hook: canonical RGB frame of the initialised size."""
