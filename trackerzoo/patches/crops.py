"""Batched target-centred crops through ``grid_sample``.

Geometry: a crop centred at ``c`` with image extent ``s`` (w, h) covers the image region
[c - s/2, c + s/2] and is resampled to ``output_size`` (h, w). Output pixel u (centre u+0.5
in patch coordinates) reads the image at ``origin + (u + 0.5) * s / out``. ``grid_sample``
is called with ``align_corners=False``, whose normalised coordinate -1 is the *left edge*
of pixel 0 and +1 the right edge of the last pixel, i.e. exactly trackerzoo's convention
that pixel (i, j) covers [j, j+1) x [i, i+1). The resulting :class:`PatchTransform` is
therefore exact, not off by half a pixel.

Border modes (what happens when the crop leaves the image):

- ``"replicate"``: sample anyway; outside pixels repeat the nearest edge pixel.
- ``"inside"``: pytracking's mode. The crop is shrunk uniformly (aspect kept) until it fits
  the image in both dimensions, then shifted to lie inside it; the target is no longer
  centred but no invented pixels enter the patch.
- ``"inside_major"``: shrunk uniformly only until it fits along the dimension needing the
  least shrinking, then shifted inside; along the other dimension it stays larger than the
  image, is centred on it and padded by replication.

``max_scale_change`` bounds the shrinking factor of the inside modes (pytracking uses it
to keep the feature scale stable for targets near large borders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .transform import PatchTransform

BORDER_MODES = ("replicate", "inside", "inside_major")


def _check_output_size(output_size) -> tuple[int, int]:
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    if len(output_size) != 2 or any(int(v) != v or v <= 0 for v in output_size):
        raise ValueError(f"output_size must be (h, w) positive integers, got {output_size!r}")
    return int(output_size[0]), int(output_size[1])


def _as_batch_xy(values, batch: int, device, what: str) -> torch.Tensor:
    # Python numbers become float64: coordinates of large frames need more than float32's 24 bits.
    tensor = (
        values.to(device)
        if isinstance(values, torch.Tensor)
        else torch.as_tensor(values, dtype=torch.float64, device=device)
    )
    if tensor.dim() == 1:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 2 or tensor.shape[-1] != 2 or tensor.shape[0] not in (1, batch):
        raise ValueError(f"{what} must have shape [B, 2] (B = {batch}) or [2], got {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        tensor = tensor.double()
    return tensor.expand(batch, 2)


def fit_crop_to_image(
    centers: torch.Tensor,
    sizes: torch.Tensor,
    image_wh: tuple[int, int],
    border_mode: str,
    max_scale_change: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop ``(origin [B,2], size [B,2])`` after applying ``border_mode`` (see module docstring)."""
    if border_mode not in BORDER_MODES:
        raise ValueError(f"border_mode must be one of {BORDER_MODES}, got {border_mode!r}")
    if max_scale_change is not None and not max_scale_change >= 1.0:
        raise ValueError(f"max_scale_change must be >= 1, got {max_scale_change!r}")
    if border_mode == "replicate":
        return centers - 0.5 * sizes, sizes
    image = torch.tensor(image_wh, dtype=sizes.dtype, device=sizes.device)
    overshoot = sizes / image
    # "inside" must fit both dimensions (largest overshoot); "inside_major" only the easier one.
    reduce = torch.amax if border_mode == "inside" else torch.amin
    shrink = reduce(overshoot, dim=-1, keepdim=True)
    shrink = shrink.clamp(min=1.0, max=math.inf if max_scale_change is None else max_scale_change)
    sizes = sizes / shrink
    origin = centers - 0.5 * sizes
    # Fits: slide inside [0, image - size]. Does not fit: centre on the image, pad the rest.
    slid = torch.minimum(origin.clamp(min=0.0), image - sizes)
    centred = 0.5 * (image - sizes)
    origin = torch.where(sizes <= image, slid, centred)
    return origin, sizes


def _sampling_grid(
    transform: PatchTransform, image_wh: tuple[int, int], dtype: torch.dtype, pixel_scale: float
) -> torch.Tensor:
    out_h, out_w = transform.patch_size
    device = transform.origin.device
    geo_dtype = transform.origin.dtype
    u = torch.arange(out_w, device=device, dtype=geo_dtype) + 0.5
    v = torch.arange(out_h, device=device, dtype=geo_dtype) + 0.5
    step = transform.crop_size / torch.tensor([out_w, out_h], device=device, dtype=geo_dtype)
    xs = transform.origin[:, 0:1] + u[None, :] * step[:, 0:1]  # [B, out_w] image x
    ys = transform.origin[:, 1:2] + v[None, :] * step[:, 1:2]  # [B, out_h] image y
    # Normalise for align_corners=False in the (possibly pre-pooled) image of size image_wh.
    xn = 2.0 * (xs / pixel_scale) / image_wh[0] - 1.0
    yn = 2.0 * (ys / pixel_scale) / image_wh[1] - 1.0
    grid = torch.stack([xn[:, None, :].expand(-1, out_h, -1), yn[:, :, None].expand(-1, -1, out_w)], dim=-1)
    return grid.to(dtype)


def sample_patches(
    images: torch.Tensor,
    centers,
    sizes,
    output_size: int | Sequence[int],
    border_mode: str = "replicate",
    *,
    max_scale_change: float | None = None,
    antialias: bool = True,
) -> tuple[torch.Tensor, PatchTransform]:
    """Crop ``B`` patches around ``centers`` [B, 2] (x, y) of extent ``sizes`` [B, 2] (w, h).

    ``images`` is [B, C, H, W] float (or [1, C, H, W]: several crops of one frame, e.g. a
    scale pyramid). Returns patches [B, C, h, w] and the :class:`PatchTransform` that maps
    coordinates between each patch and its image.

    With ``antialias`` and a crop more than twice as large as the output, the image is
    first average-pooled by the largest integer factor that keeps every crop at least at
    output resolution, so bilinear sampling does not alias (pytracking pre-downsamples too).
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor [B, C, H, W], got {getattr(images, 'shape', type(images))}")
    out_h, out_w = _check_output_size(output_size)
    device = images.device
    batch = max(images.shape[0], torch.as_tensor(centers).reshape(-1, 2).shape[0])
    if images.shape[0] not in (1, batch):
        raise ValueError(f"images batch {images.shape[0]} does not match {batch} crops")
    centers_t = _as_batch_xy(centers, batch, device, "centers")
    sizes_t = _as_batch_xy(sizes, batch, device, "sizes")
    geo_dtype = torch.promote_types(torch.promote_types(centers_t.dtype, sizes_t.dtype), torch.float32)
    centers_t, sizes_t = centers_t.to(geo_dtype), sizes_t.to(geo_dtype)
    if not bool(torch.all(sizes_t > 0)):
        raise ValueError(f"crop sizes must be positive, got {sizes_t.tolist()}")

    height, width = images.shape[-2:]
    origin, crop_size = fit_crop_to_image(centers_t, sizes_t, (width, height), border_mode, max_scale_change)
    transform = PatchTransform(origin=origin, crop_size=crop_size, patch_size=(out_h, out_w))

    pool = 1
    if antialias:
        per_pixel = crop_size / torch.tensor([out_w, out_h], dtype=geo_dtype, device=device)
        pool = max(1, int(per_pixel.min()))  # one host read per call, outside any loop
        pool = min(pool, height, width)
    source = images if pool == 1 else F.avg_pool2d(images, kernel_size=pool, stride=pool, ceil_mode=True)
    grid = _sampling_grid(transform, (source.shape[-1], source.shape[-2]), images.dtype, float(pool))
    if source.shape[0] != batch:
        source = source.expand(batch, -1, -1, -1)
    patches = F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return patches, transform
