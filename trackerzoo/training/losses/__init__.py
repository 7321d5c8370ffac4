"""The training losses of the trackers' papers, one small function each."""

from trackerzoo.training.losses.classification import (
    bce_contour_loss,
    bce_loss,
    dimp_hinge_loss,
    focal_hinge_mse_loss,
    mask_contour,
)
from trackerzoo.training.losses.regression import iou_loss, l1_loss, smooth_l1_loss
from trackerzoo.training.losses.segmentation import lovasz_hinge_loss, lovasz_softmax_loss

__all__ = [
    "bce_contour_loss",
    "bce_loss",
    "dimp_hinge_loss",
    "focal_hinge_mse_loss",
    "iou_loss",
    "l1_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "mask_contour",
    "smooth_l1_loss",
]
