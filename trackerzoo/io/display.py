"""OpenCV windows for ``trackerzoo track``: showing the annotated frames and drawing the initial box.

Both need a display and an OpenCV build with GUI support (``opencv-python``, not the
``-headless`` wheels); ``gui_unavailable_reason`` says why a window cannot open, so the
command can print one clear line instead of OpenCV's error.
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

_QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # q or Esc


def _opencv_gui_backend() -> str:
    """The ``GUI:`` entry of OpenCV's build information (``NONE`` for the headless wheels)."""
    for line in cv2.getBuildInformation().splitlines():
        name, _, value = line.strip().partition(":")
        if name.strip() == "GUI":
            return value.strip() or "YES"
    return "UNKNOWN"


def gui_unavailable_reason() -> str | None:
    """Why no OpenCV window can be shown here, or ``None`` when one can.

    Linux (and other X11/Wayland systems) needs ``DISPLAY`` or ``WAYLAND_DISPLAY``; every
    system needs an OpenCV build with a GUI backend.
    """
    if _opencv_gui_backend().upper() == "NONE":
        return ("this OpenCV build has no GUI support (a -headless wheel); "
                "install opencv-contrib-python for windows")
    if sys.platform not in ("win32", "darwin") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    return None


class FrameWindow:
    """A window that shows RGB frames as they are tracked; ``q`` or Esc asks to stop."""

    def __init__(self, title: str = "trackerzoo track") -> None:
        self.title = title
        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)

    def show(self, frame_rgb: np.ndarray) -> bool:
        """Show one frame; ``False`` when the user pressed ``q``/Esc or closed the window."""
        cv2.imshow(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        key = cv2.waitKey(1) & 0xFF
        if key in _QUIT_KEYS:
            return False
        return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        cv2.destroyWindow(self.title)


def select_box(frame_rgb: np.ndarray, title: str = "draw the target, then Enter (c cancels)") -> tuple[float, ...]:
    """The ``(x, y, w, h)`` box (pixels) the user draws on ``frame_rgb`` with ``cv2.selectROI``.

    Raises ``ValueError`` when the selection is cancelled or empty.
    """
    x, y, w, h = cv2.selectROI(title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), showCrosshair=True,
                               fromCenter=False)
    cv2.destroyWindow(title)
    if w <= 0 or h <= 0:
        raise ValueError(f"no box was selected (got {w}x{h}); draw the target or pass --init x,y,w,h")
    return float(x), float(y), float(w), float(h)
