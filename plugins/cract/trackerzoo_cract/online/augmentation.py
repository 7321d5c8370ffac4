"""Extra views of the first frame for the discriminator's first fit (ATOM's augmentation).

The first frame is the only one whose label is certain, and ATOM fits its online
classifier on several transformed copies of it so that the fit does not hinge on one
exact appearance. The discriminator here is trained on discrete boxes pooled from a
crop, so a view is simply a transformed crop in which the target stays at the centre:
a mirror image (people and vehicles turn around) and blurred copies (motion and
defocus blur; ATOM's sigmas).
"""

from __future__ import annotations

import torch

from trackerzoo.patches import gaussian_blur

VIEW_NAMES = ("flip", "blur")
_BLUR_SIGMAS = ((3.0, 1.0), (1.0, 3.0), (2.0, 2.0))  # (x, y) in crop pixels, as ATOM's init blurs


def parse_views(text: str) -> tuple[str, ...]:
    """``"flip,blur"`` -> ``("flip", "blur")``; an empty string means no extra view."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in VIEW_NAMES]
    if unknown:
        raise ValueError(f"init_augmentations: unknown view {unknown[0]!r}; choose from {', '.join(VIEW_NAMES)}")
    return names


def first_frame_views(crop: torch.Tensor, names: tuple[str, ...]) -> list[torch.Tensor]:
    """The crop itself, then each requested transform of it (the target stays centred in all)."""
    views = [crop]
    for name in names:
        if name == "flip":
            views.append(torch.flip(crop, dims=(-1,)))
        elif name == "blur":
            views.extend(gaussian_blur(crop, sx, sy) for sx, sy in _BLUR_SIGMAS)
    return views
