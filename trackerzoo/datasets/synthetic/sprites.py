"""Cut-outs with an alpha channel, and how one is warped and blurred into a frame.

A ``Sprite`` keeps its colour premultiplied by alpha in float32. Premultiplied colour
is what makes warping and blurring correct at the edges: interpolating straight
(non-premultiplied) RGBA drags the colour of transparent pixels, usually black, into
the visible border as a dark fringe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# Longest side a sprite is kept at; larger cut-outs are downscaled once on load so
# warping cost does not depend on the resolution of the source clip-art.
MAX_SPRITE_SIDE = 384
# A pixel belongs to an object's mask when that object contributes at least this
# much of its colour after compositing.
MASK_THRESHOLD = 0.5


@dataclass(frozen=True)
class Sprite:
    """Premultiplied RGBA float32 image ``(h, w, 4)`` in [0, 1] plus where it came from."""

    rgba: np.ndarray
    name: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgba.shape[1], self.rgba.shape[0]

    @property
    def mask_area(self) -> float:
        """Pixels of the sprite that would be in its mask at scale 1."""
        return float(np.count_nonzero(self.rgba[:, :, 3] >= MASK_THRESHOLD))


def sprite_from_rgba8(rgba: np.ndarray, name: str) -> Sprite:
    """Sprite from straight (not premultiplied) uint8 RGBA, cropped to its visible pixels."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"sprite {name!r} must be (h, w, 4) RGBA, got shape {rgba.shape}")
    alpha = rgba[:, :, 3]
    rows = np.flatnonzero(alpha.max(axis=1) > 0)
    cols = np.flatnonzero(alpha.max(axis=0) > 0)
    if rows.size == 0:
        raise ValueError(f"sprite {name!r} is fully transparent")
    rgba = rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    longest = max(rgba.shape[:2])
    if longest > MAX_SPRITE_SIDE:
        factor = MAX_SPRITE_SIDE / longest
        new_size = (max(1, round(rgba.shape[1] * factor)), max(1, round(rgba.shape[0] * factor)))
        premultiplied = _premultiply(rgba)
        premultiplied = cv2.resize(premultiplied, new_size, interpolation=cv2.INTER_AREA)
        return Sprite(np.ascontiguousarray(premultiplied), name)
    return Sprite(_premultiply(rgba), name)


def _premultiply(rgba8: np.ndarray) -> np.ndarray:
    rgba = rgba8.astype(np.float32) / 255.0
    rgba[:, :, :3] *= rgba[:, :, 3:4]
    return rgba


def load_sprite(path: Path) -> Sprite:
    """Read a PNG with alpha (palette and grey+alpha PNGs are expanded by OpenCV)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"cannot read cut-out image {str(path)!r}")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(f"cut-out image {str(path)!r} has no alpha channel")
    rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return sprite_from_rgba8(rgba, path.name)


def recolour(sprite: Sprite, hue_shift_deg: float, saturation_gain: float = 1.0) -> Sprite:
    """The same cut-out with its hues rotated: a look-alike distractor.

    Works on the un-premultiplied colour so that semi-transparent edge pixels keep
    their hue relation to the interior.
    """
    alpha = sprite.rgba[:, :, 3:4]
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(alpha > 0, sprite.rgba[:, :, :3] / np.maximum(alpha, 1e-6), 0.0)
    hsv = cv2.cvtColor(np.clip(straight, 0, 1).astype(np.float32), cv2.COLOR_RGB2HSV)
    hsv[:, :, 0] = (hsv[:, :, 0] + hue_shift_deg) % 360.0
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * saturation_gain, 0.0, 1.0)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * alpha
    return Sprite(np.ascontiguousarray(np.concatenate([rgb, alpha], axis=2), dtype=np.float32),
                  f"{sprite.name}~hue{hue_shift_deg:.0f}")


@dataclass(frozen=True)
class Pose:
    """Where and how a sprite appears in one frame."""

    cx: float
    cy: float
    size: float  # longest side of the sprite in frame pixels (before aspect change)
    aspect: float  # width stretch; height is divided by the same factor's root
    angle_deg: float
    blur_dx: float = 0.0  # motion during the exposure, in pixels
    blur_dy: float = 0.0


@dataclass
class RenderedLayer:
    """A sprite warped into the window at ``(x0, y0)``; the window may overhang the frame.

    The window is not clipped to the frame so that the sprite's full mask area (needed
    for the cover ratio and the cut-by-image flag) is exact, not estimated.
    """

    x0: int
    y0: int
    rgb: np.ndarray  # premultiplied float32 (h, w, 3)
    alpha: np.ndarray  # float32 (h, w)

    @property
    def full_area(self) -> int:
        """Mask pixels of the whole sprite at this pose, inside the frame or not."""
        return int(np.count_nonzero(self.alpha >= MASK_THRESHOLD))

    def crop(self, frame_size: tuple[int, int]) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """(frame window, layer window) of the part inside the frame; None if there is none."""
        frame_w, frame_h = frame_size
        height, width = self.alpha.shape
        left, top = max(self.x0, 0), max(self.y0, 0)
        right, bottom = min(self.x0 + width, frame_w), min(self.y0 + height, frame_h)
        if right <= left or bottom <= top:
            return None
        frame_window = (slice(top, bottom), slice(left, right))
        layer_window = (slice(top - self.y0, bottom - self.y0), slice(left - self.x0, right - self.x0))
        return frame_window, layer_window


def sprite_scales(sprite: Sprite, size: float | np.ndarray,
                  aspect: float | np.ndarray) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Horizontal and vertical scale factors of ``sprite`` drawn at ``size`` (longest side) and ``aspect``.

    Works on floats or on arrays over time: the planner needs the target's drawn width and
    height (``sprite.size`` times these) before anything is rendered.
    """
    width, height = sprite.size
    base = size / max(width, height)
    stretch = np.sqrt(np.maximum(aspect, 1e-3))
    return base * stretch, base / stretch


def _affine(sprite: Sprite, pose: Pose) -> np.ndarray:
    width, height = sprite.size
    sx, sy = (float(scale) for scale in sprite_scales(sprite, pose.size, pose.aspect))
    angle = math.radians(pose.angle_deg)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    linear = np.array([[cos_a, -sin_a], [sin_a, cos_a]]) @ np.diag([sx, sy])
    offset = np.array([pose.cx, pose.cy]) - linear @ np.array([width / 2.0, height / 2.0])
    return np.hstack([linear, offset[:, None]])


def _line_kernel(dx: float, dy: float) -> np.ndarray | None:
    """Box kernel along the motion direction (a straight-line exposure)."""
    length = math.hypot(dx, dy)
    if length < 1.5:
        return None
    radius = math.ceil(length / 2.0)
    size = 2 * radius + 1
    kernel = np.zeros((size, size), dtype=np.float32)
    half_x, half_y = dx / 2.0, dy / 2.0
    scale = 8  # draw with sub-pixel precision
    cv2.line(kernel, (round((radius - half_x) * scale), round((radius - half_y) * scale)),
             (round((radius + half_x) * scale), round((radius + half_y) * scale)), 1.0,
             thickness=1, lineType=cv2.LINE_AA, shift=3)
    total = kernel.sum()
    return kernel / total if total > 0 else None


def render_sprite(sprite: Sprite, pose: Pose, frame_size: tuple[int, int]) -> RenderedLayer | None:
    """Warp (and motion-blur) ``sprite`` at ``pose`` for a frame of ``frame_size`` (w, h).

    Only the window the sprite covers is computed, which keeps compositing cost
    proportional to the object's size rather than the frame's. None when that window
    lies entirely outside the frame.
    """
    frame_w, frame_h = frame_size
    matrix = _affine(sprite, pose)
    width, height = sprite.size
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], dtype=np.float64)
    projected = corners @ matrix.T
    kernel = _line_kernel(pose.blur_dx, pose.blur_dy)
    margin = 2 + (kernel.shape[0] // 2 if kernel is not None else 0)
    x0 = math.floor(projected[:, 0].min()) - margin
    y0 = math.floor(projected[:, 1].min()) - margin
    x1 = math.ceil(projected[:, 0].max()) + margin
    y1 = math.ceil(projected[:, 1].max()) + margin
    if x1 <= 0 or y1 <= 0 or x0 >= frame_w or y0 >= frame_h:
        return None
    shifted = matrix.copy()
    shifted[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(sprite.rgba, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    if kernel is not None:
        warped = cv2.filter2D(warped, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    alpha = np.clip(warped[:, :, 3], 0.0, 1.0)
    return RenderedLayer(x0, y0, warped[:, :, :3], alpha)
