"""Box/mask/polygon geometry shared by all trackers (conventions in :mod:`.boxes` and :mod:`.rasterize`)."""

from .boxes import (
    box_area,
    box_iou,
    box_iou_elementwise,
    cxcywh_to_xywh,
    cxcywh_to_xyxy,
    xywh_to_cxcywh,
    xywh_to_xyxy,
    xyxy_to_cxcywh,
    xyxy_to_xywh,
)
from .masks import box_to_mask, mask_iou, mask_to_box, rotated_box_to_mask
from .polygons import (
    clip_convex_polygons,
    polygon_area,
    polygon_signed_area,
    rotated_box_corners,
    rotated_box_iou,
)
from .rasterize import points_in_polygon, rasterize_polygon
from .rotated_fit import mask_to_rotated_box

__all__ = [
    "box_area",
    "box_iou",
    "box_iou_elementwise",
    "box_to_mask",
    "clip_convex_polygons",
    "cxcywh_to_xywh",
    "cxcywh_to_xyxy",
    "mask_iou",
    "mask_to_box",
    "mask_to_rotated_box",
    "points_in_polygon",
    "polygon_area",
    "polygon_signed_area",
    "rasterize_polygon",
    "rotated_box_corners",
    "rotated_box_iou",
    "rotated_box_to_mask",
    "xywh_to_cxcywh",
    "xywh_to_xyxy",
    "xyxy_to_cxcywh",
    "xyxy_to_xywh",
]
