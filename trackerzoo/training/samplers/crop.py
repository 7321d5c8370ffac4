"""Cropping one frame (and its mask) around a jittered target box for training.

The jitter follows pytracking's samplers: the box size is scaled by
``exp(N(0, scale_jitter))`` per axis and its centre moved uniformly by up to
``center_jitter * sqrt(w * h) / 2`` (of the jittered box) per axis, so the network
does not learn that the target always sits exactly in the middle at one scale. The
crop itself is :func:`trackerzoo.patches.crops.sample_patches`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from trackerzoo.patches import PatchTransform, sample_patches, search_region_size, siamese_crop_side


@dataclasses.dataclass(frozen=True)
class CropSpec:
    """How one branch (template, search, or RTS frames) is cropped.

    - ``output_size``: (h, w) of the patch.
    - ``area_scale``: without ``context_amount``, the crop has area
      ``area_scale**2 * w * h`` and the aspect of ``output_size`` (DCF/DiMP/RTS
      "search area factor"); with ``context_amount`` it is square with side
      ``area_scale * sqrt((w + p)(h + p))``, ``p = context_amount * (w + h)``
      (SiamFC/SiamRPN++/Ocean: 1 for the template, 255/127 for the search image).
    - ``scale_jitter``, ``center_jitter``: see the module docstring (0 disables).
    - ``border_mode``: as in ``sample_patches``.
    """

    output_size: tuple[int, int]
    area_scale: float = 2.0
    context_amount: float | None = None
    scale_jitter: float = 0.0
    center_jitter: float = 0.0
    border_mode: str = "replicate"

    def __post_init__(self) -> None:
        size = self.output_size
        if isinstance(size, int):
            object.__setattr__(self, "output_size", (size, size))
        elif len(size) != 2 or min(size) <= 0:
            raise ValueError(f"output_size must be (h, w) positive integers, got {size!r}")
        if self.area_scale <= 0:
            raise ValueError(f"area_scale must be > 0, got {self.area_scale!r}")
        if self.scale_jitter < 0 or self.center_jitter < 0:
            raise ValueError(f"jitter must be >= 0, got scale {self.scale_jitter!r}, centre {self.center_jitter!r}")

    def jitter_box(self, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The box (x, y, w, h) the crop is built around (the label stays the true box)."""
        center = box[:2] + 0.5 * box[2:]
        size = box[2:] * np.exp(rng.standard_normal(2) * self.scale_jitter)
        max_offset = math.sqrt(float(size[0] * size[1])) * self.center_jitter
        center = center + max_offset * (rng.random(2) - 0.5)
        return np.concatenate([center - 0.5 * size, size])

    def crop_extent(self, box: np.ndarray) -> tuple[float, float]:
        wh = torch.as_tensor(box[2:], dtype=torch.float64)
        if self.context_amount is None:
            extent = search_region_size(wh, self.area_scale, self.output_size)
            return float(extent[0]), float(extent[1])
        side = float(siamese_crop_side(wh, self.context_amount)) * self.area_scale
        out_h, out_w = self.output_size
        return side * out_w / math.sqrt(out_w * out_h), side * out_h / math.sqrt(out_w * out_h)


def crop_frame(
    frame: np.ndarray,
    box: np.ndarray,
    spec: CropSpec,
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
) -> dict[str, torch.Tensor]:
    """Crop ``frame`` (RGB uint8) around the jittered ``box``.

    Returns ``image`` float [3, h, w] in [0, 1], ``box`` [4] (x, y, w, h) of the true
    box in patch pixels, and ``mask`` float [1, h, w] (0/1) when ``mask`` is given.
    """
    jittered = spec.jitter_box(box, rng)
    extent = spec.crop_extent(jittered)
    center = jittered[:2] + 0.5 * jittered[2:]
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).to(torch.float32) / 255.0
    if mask is not None:
        if mask.shape != frame.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} differs from frame shape {frame.shape[:2]}")
        image = torch.cat([image, torch.from_numpy(np.asarray(mask, dtype=np.float32))[None]], dim=0)
    patches, transform = sample_patches(
        image[None], torch.from_numpy(np.asarray(center, dtype=np.float64))[None],
        torch.tensor([extent], dtype=torch.float64), spec.output_size, spec.border_mode,
    )
    patch_box = transform.image_to_patch_boxes(torch.as_tensor(box, dtype=torch.float64)[None])[0]
    result = {"image": patches[0, :3].contiguous(), "box": patch_box.to(torch.float32)}
    if mask is not None:
        inside = _inside_image(transform, frame.shape[:2])
        result["mask"] = ((patches[0, 3:] >= 0.5) & inside).to(torch.float32)
    return result


def _inside_image(transform: PatchTransform, image_hw: tuple[int, int]) -> torch.Tensor:
    """[1, h, w] True where the patch pixel's centre lies inside the image.

    The replicate border repeats edge pixels outside the frame, which is a fair guess
    for the image but would stretch a mask touching the edge; outside the frame the
    object is unknown, so the mask label is 0 there.
    """
    out_h, out_w = transform.patch_size
    origin, scale = transform.origin[0].double(), transform.scale[0].double()
    image_x = origin[0] + (torch.arange(out_w, dtype=torch.float64) + 0.5) / scale[0]
    image_y = origin[1] + (torch.arange(out_h, dtype=torch.float64) + 0.5) / scale[1]
    height, width = image_hw
    inside_x = (image_x >= 0) & (image_x < width)
    inside_y = (image_y >= 0) & (image_y < height)
    return (inside_y[:, None] & inside_x[None, :])[None]
