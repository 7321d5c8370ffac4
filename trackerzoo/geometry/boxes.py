"""Axis-aligned box formats and their IoU, for numpy arrays and torch tensors alike.

Coordinate convention (used across trackerzoo): continuous image coordinates in which
pixel (row i, column j) covers the square [j, j+1) x [i, i+1); its centre is (j+0.5, i+0.5).
A box ``xywh`` = (x, y, w, h) covers [x, x+w) x [y, y+h) and has area ``w*h`` (no "+1").
Formats:

- ``xywh``: top-left corner and size (the dataset / benchmark format);
- ``xyxy``: top-left and bottom-right corners;
- ``cxcywh``: centre and size (what trackers propagate between frames).

Every function accepts arrays of shape [..., 4] and returns the same array type.
"""

from __future__ import annotations

from ._arrays import Array, as_array, check_last_dim, clamp_min, maximum, minimum, stack_last, where


def _split(boxes, what: str):
    boxes = as_array(boxes)
    check_last_dim(boxes, 4, what)
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


def xywh_to_xyxy(boxes: Array) -> Array:
    x, y, w, h = _split(boxes, "xywh boxes")
    return stack_last([x, y, x + w, y + h])


def xyxy_to_xywh(boxes: Array) -> Array:
    x0, y0, x1, y1 = _split(boxes, "xyxy boxes")
    return stack_last([x0, y0, x1 - x0, y1 - y0])


def xywh_to_cxcywh(boxes: Array) -> Array:
    x, y, w, h = _split(boxes, "xywh boxes")
    return stack_last([x + 0.5 * w, y + 0.5 * h, w, h])


def cxcywh_to_xywh(boxes: Array) -> Array:
    cx, cy, w, h = _split(boxes, "cxcywh boxes")
    return stack_last([cx - 0.5 * w, cy - 0.5 * h, w, h])


def xyxy_to_cxcywh(boxes: Array) -> Array:
    return xywh_to_cxcywh(xyxy_to_xywh(boxes))


def cxcywh_to_xyxy(boxes: Array) -> Array:
    return xywh_to_xyxy(cxcywh_to_xywh(boxes))


def box_area(boxes_xywh: Array) -> Array:
    """Area ``w*h`` with negative sizes counted as empty."""
    _, _, w, h = _split(boxes_xywh, "xywh boxes")
    return clamp_min(w, 0.0) * clamp_min(h, 0.0)


def _iou_from_corners(a_xyxy, b_xyxy, area_a, area_b):
    inter_w = clamp_min(minimum(a_xyxy[..., 2], b_xyxy[..., 2]) - maximum(a_xyxy[..., 0], b_xyxy[..., 0]), 0.0)
    inter_h = clamp_min(minimum(a_xyxy[..., 3], b_xyxy[..., 3]) - maximum(a_xyxy[..., 1], b_xyxy[..., 1]), 0.0)
    inter = inter_w * inter_h
    union = area_a + area_b - inter
    # Two empty boxes have no overlap to speak of: report 0 rather than 0/0.
    safe_union = where(union > 0, union, union * 0 + 1)
    return where(union > 0, inter / safe_union, inter * 0)


def box_iou_elementwise(boxes_a: Array, boxes_b: Array) -> Array:
    """IoU of ``boxes_a[i]`` with ``boxes_b[i]`` (xywh, shapes broadcast), e.g. prediction vs ground truth."""
    a = as_array(boxes_a)
    b = as_array(boxes_b)
    a_xyxy, b_xyxy = xywh_to_xyxy(a), xywh_to_xyxy(b)
    return _iou_from_corners(a_xyxy, b_xyxy, box_area(a), box_area(b))


def box_iou(boxes_a: Array, boxes_b: Array) -> Array:
    """Pairwise IoU matrix [N, M] between xywh boxes [N, 4] and [M, 4] (e.g. proposals vs target)."""
    a = as_array(boxes_a)
    b = as_array(boxes_b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"box_iou expects [N,4] and [M,4] arrays, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return box_iou_elementwise(a[:, None, :], b[None, :, :])
