"""Compositing a planned scene frame by frame, with exact ground truth.

Ground-truth rules (also in docs/evaluation.md):

* The **mask** is the set of pixels where the target contributes at least half of
  the final colour: its (warped, motion-blurred) alpha multiplied by ``1 - alpha`` of
  every layer composited above it, thresholded at 0.5. It is therefore exactly what is
  visible: occluded parts and parts outside the frame are not in it.
* The **box** is the tight box of that mask (``x, y, w, h`` in pixels, pixel-edge
  convention: a single pixel at column 3 has ``x = 3, w = 1``), i.e. the box of the
  *visible part*. When the mask is empty the box is NaN and ``visible`` is False.
* **cover** is the visible mask area over the area the whole target would have at
  the same pose with nothing in front and no frame border; ``in_view`` is False
  when no part of the target lies inside the frame (the GOT-10k absence label);
  ``cut_by_image`` is True when the frame border hides part of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from trackerzoo.datasets.synthetic.scene import Scene
from trackerzoo.datasets.synthetic.sprites import MASK_THRESHOLD, render_sprite


@dataclass(frozen=True)
class FrameTruth:
    """One rendered frame and its ground truth."""

    image: np.ndarray  # uint8 RGB (H, W, 3)
    mask: np.ndarray  # bool (H, W)
    box: np.ndarray  # float64 [4], NaN when not visible
    visible: bool
    in_view: bool
    cover: float  # visible fraction of the whole target, in [0, 1]
    cut_by_image: bool
    occluded: bool  # something composited above hides part of the target


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Tight ``x, y, w, h`` of the true pixels of ``mask``; NaN when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.full(4, np.nan)
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1], dtype=np.float64)


def _light_field(scene: Scene, t: int) -> np.ndarray:
    """Multiplicative (H, W, 3) or (1, 1, 3) gain of frame ``t``."""
    light = scene.illumination
    base = (light.gain[t] * light.tint[t]).astype(np.float32)[None, None, :]
    if light.spot_x is None:
        return base
    width, height = scene.frame_size
    # Evaluate the spotlight on a coarse grid: it is smooth, so this is exact enough
    # and ~60x cheaper than per pixel.
    step = 8
    xs = (np.arange(0, width, step, dtype=np.float32) + step / 2.0 - light.spot_x[t]) / light.spot_radius
    ys = (np.arange(0, height, step, dtype=np.float32) + step / 2.0 - light.spot_y[t]) / light.spot_radius
    coarse = 1.0 + light.spot_strength * np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2))
    field = np.repeat(np.repeat(coarse, step, axis=0), step, axis=1)[:height, :width]
    return field[:, :, None].astype(np.float32) * base


def render_frames(scene: Scene) -> Iterator[FrameTruth]:
    """Composite every frame of ``scene`` in order (video backgrounds decode sequentially)."""
    width, height = scene.frame_size
    target_index = scene.target_index
    for t in range(scene.length):
        canvas = scene.background.canvas_at(t)
        image = scene.camera.render(canvas, t, scene.frame_size).astype(np.float32) * (1.0 / 255.0)
        target_alpha = np.zeros((height, width), dtype=np.float32)
        full_area = 0
        unoccluded_area = 0
        for index, layer in enumerate(scene.layers):
            rendered = render_sprite(layer.sprite, layer.pose(t), scene.frame_size)
            if rendered is None:
                continue
            if index == target_index:
                full_area = rendered.full_area
            windows = rendered.crop(scene.frame_size)
            if windows is None:
                continue
            frame_window, layer_window = windows
            alpha = rendered.alpha[layer_window]
            image[frame_window] *= (1.0 - alpha)[:, :, None]
            image[frame_window] += rendered.rgb[layer_window]
            if index == target_index:
                target_alpha[frame_window] = alpha
                unoccluded_area = int(np.count_nonzero(alpha >= MASK_THRESHOLD))
            elif index > target_index:
                target_alpha[frame_window] *= 1.0 - alpha
        image *= _light_field(scene, t)
        frame = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        mask = target_alpha >= MASK_THRESHOLD
        visible_area = int(np.count_nonzero(mask))
        box = mask_box(mask)
        yield FrameTruth(
            image=frame,
            mask=mask,
            box=box,
            visible=visible_area > 0,
            in_view=unoccluded_area > 0,
            cover=min(1.0, visible_area / full_area) if full_area else 0.0,
            cut_by_image=0 < unoccluded_area < full_area,
            occluded=visible_area < unoccluded_area,
        )
