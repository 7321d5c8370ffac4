"""How large a crop to take around a target, in image pixels.

Two recipes are in use by the trackers of the zoo:

- DCF / ATOM / DiMP / RTS: the crop's *area* is ``(search_area_scale)^2 * w * h`` and its
  aspect ratio is that of the network input (square for ATOM's 288x288, 832:480 for RTS),
  so the side of a square crop is ``sqrt(w*h) * search_area_scale``.
- Siamese (SiamFC/SiamRPN++/Ocean): the exemplar side is ``sqrt((w+p)(h+p))`` with context
  padding ``p = context_amount * (w + h)``; the search crop is that side scaled by
  ``instance_size / exemplar_size``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _target_wh(target_wh) -> torch.Tensor:
    wh = torch.as_tensor(target_wh)
    if not wh.is_floating_point():
        wh = wh.double()
    if wh.shape[-1:] != (2,):
        raise ValueError(f"target size must have a trailing dimension (w, h), got shape {tuple(wh.shape)}")
    if not bool(torch.all(wh > 0)):
        raise ValueError(f"target sizes must be positive, got {wh.tolist()}")
    return wh


def search_region_size(target_wh, search_area_scale: float, output_size: int | Sequence[int]) -> torch.Tensor:
    """Crop extent (w, h) [..., 2] in image pixels for the DCF recipe (see module docstring)."""
    if not search_area_scale > 0:
        raise ValueError(f"search_area_scale must be positive, got {search_area_scale!r}")
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"output_size must be positive, got {output_size!r}")
    wh = _target_wh(target_wh)
    side = torch.sqrt(wh[..., 0] * wh[..., 1]) * search_area_scale  # side of the equal-area square
    aspect = torch.tensor([out_w, out_h], dtype=wh.dtype) / (out_w * out_h) ** 0.5
    return side[..., None] * aspect.to(wh.device)


def siamese_crop_side(
    target_wh, context_amount: float = 0.5, exemplar_size: int = 127, instance_size: int | None = None
) -> torch.Tensor:
    """Square crop side [...] for the Siamese recipe: exemplar side, or search side if ``instance_size``."""
    if context_amount < 0:
        raise ValueError(f"context_amount must be >= 0, got {context_amount!r}")
    wh = _target_wh(target_wh)
    pad = context_amount * (wh[..., 0] + wh[..., 1])
    side = torch.sqrt((wh[..., 0] + pad) * (wh[..., 1] + pad))
    if instance_size is not None:
        side = side * (instance_size / exemplar_size)
    return side
