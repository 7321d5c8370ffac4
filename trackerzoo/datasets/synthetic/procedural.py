"""Asset-free stand-ins: textured shapes and textured backgrounds drawn from a seed.

Unit tests and quick experiments must not depend on downloading several hundred MB of
Debian packages, so every code path of the generator also runs on these. They are not
meant to look like photographs; they have texture, colour variety and sharp alpha
edges, which is what the compositing, occlusion and mask logic needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from trackerzoo.datasets.synthetic.sprites import Sprite, sprite_from_rgba8

SHAPES = ("ellipse", "polygon", "star", "blob")


def multiscale_noise(rng: np.random.Generator, size: tuple[int, int], octaves: int = 4) -> np.ndarray:
    """Float32 (h, w) noise in [0, 1] summed from coarse to fine grids (cheap value noise)."""
    width, height = size
    total = np.zeros((height, width), dtype=np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, cells)).astype(np.float32)
        total += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) * (0.5**octave)
        weight_sum += 0.5**octave
    total /= weight_sum
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


def texture(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """uint8 RGB (h, w, 3) texture: noise mapped between two random colours, plus stripes."""
    width, height = size
    noise = multiscale_noise(rng, size)[:, :, None]
    colour_a = rng.integers(0, 256, 3).astype(np.float32)
    colour_b = rng.integers(0, 256, 3).astype(np.float32)
    image = colour_a * (1.0 - noise) + colour_b * noise
    if rng.random() < 0.6:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(6, 24)
        stripes = (np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period) > 0)[:, :, None]
        image = np.where(stripes, image * 0.6 + rng.integers(0, 256, 3) * 0.4, image)
    return np.clip(image, 0, 255).astype(np.uint8)


def _shape_mask(rng: np.random.Generator, shape: str, side: int) -> np.ndarray:
    """Anti-aliased uint8 alpha of one shape, drawn at 4x and downsampled."""
    scale = 4
    big = side * scale
    canvas = np.zeros((big, big), dtype=np.uint8)
    centre = big / 2.0
    if shape == "ellipse":
        axes = (int(centre * rng.uniform(0.5, 0.95)), int(centre * rng.uniform(0.5, 0.95)))
        cv2.ellipse(canvas, (int(centre), int(centre)), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    else:
        count = {"polygon": int(rng.integers(3, 8)), "star": 2 * int(rng.integers(4, 8)),
                 "blob": 12}[shape]
        angles = np.sort(rng.uniform(0, 2 * np.pi, count)) if shape == "polygon" else \
            np.linspace(0, 2 * np.pi, count, endpoint=False) + rng.uniform(0, np.pi)
        if shape == "star":
            radii = np.where(np.arange(count) % 2 == 0, 0.95, rng.uniform(0.35, 0.6))
        elif shape == "blob":
            radii = rng.uniform(0.55, 0.95, count)
        else:
            radii = np.full(count, 0.95)
        points = np.stack([centre + centre * radii * np.cos(angles), centre + centre * radii * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 255)
        if shape == "blob":
            canvas = cv2.GaussianBlur(canvas, (0, 0), big / 16)
            canvas = np.where(canvas > 127, 255, 0).astype(np.uint8)
    return cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA)


def procedural_sprite(rng: np.random.Generator, side: int = 96) -> Sprite:
    """A textured random shape with an anti-aliased alpha edge."""
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    alpha = _shape_mask(rng, shape, side)
    rgb = texture(rng, (side, side))
    # A dark outline, like most clip-art, so the edge is visible on any background.
    edge = cv2.morphologyEx((alpha > 127).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    rgb[edge] = (rgb[edge] * 0.3).astype(np.uint8)
    return sprite_from_rgba8(np.dstack([rgb, alpha]), f"procedural-{shape}")


def procedural_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """uint8 RGB (h, w, 3) scene-like texture: a noisy gradient with clutter shapes."""
    width, height = size
    image = texture(rng, size).astype(np.float32)
    gradient = np.linspace(0.7, 1.2, height, dtype=np.float32)[:, None, None]
    image = image * gradient
    for _ in range(int(rng.integers(4, 12))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(4, max(5, width // 6))), int(rng.integers(4, max(5, height // 6))))
        cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    return np.clip(image, 0, 255).astype(np.uint8)


def sprite_clip(background: np.ndarray, sprite: Sprite, centres: Sequence[tuple[float, float] | None]
                ) -> tuple[list[np.ndarray], list[tuple[int, int, int, int] | None]]:
    """A clip of ``sprite`` over a still ``background``, one frame per entry of ``centres``.

    ``background`` is uint8 RGB ``(H, W, 3)``; each centre is ``(x, y)`` in pixels, or None
    for a frame without the target (e.g. after it left). The sprite (premultiplied RGBA) is
    composited unscaled with its top left at ``int(x - w // 2), int(y - h // 2)``. Returns
    the uint8 frames and the boxes ``(x, y, w, h)`` in pixels (None where absent). Raises
    ``ValueError`` naming a centre that puts the sprite outside the frame.
    """
    image = background.astype(np.float32) / 255.0
    rgba = sprite.rgba
    height, width = rgba.shape[:2]
    frames, boxes = [], []
    for centre in centres:
        frame = image.copy()
        box = None
        if centre is not None:
            x0, y0 = int(centre[0] - width // 2), int(centre[1] - height // 2)
            if x0 < 0 or y0 < 0 or x0 + width > image.shape[1] or y0 + height > image.shape[0]:
                raise ValueError(f"centre {centre!r} puts the {width}x{height} sprite outside the "
                                 f"{image.shape[1]}x{image.shape[0]} frame")
            region = frame[y0:y0 + height, x0:x0 + width]
            frame[y0:y0 + height, x0:x0 + width] = rgba[..., :3] + region * (1.0 - rgba[..., 3:])
            box = (x0, y0, width, height)
        frames.append(np.round(frame * 255.0).astype(np.uint8))
        boxes.append(box)
    return frames, boxes
