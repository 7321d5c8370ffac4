"""Image patches around the target: crop sizes, batched crops, pasting back and exact patch<->image transforms."""

from .blur import gaussian_blur
from .crops import BORDER_MODES, fit_crop_to_image, sample_patches
from .paste import paste_patches
from .search_area import search_region_size, siamese_crop_side
from .transform import PatchTransform

__all__ = [
    "BORDER_MODES",
    "PatchTransform",
    "fit_crop_to_image",
    "gaussian_blur",
    "paste_patches",
    "sample_patches",
    "search_region_size",
    "siamese_crop_side",
]
