"""Inference settings of RPVT, as plain numbers.

Sources: D3S ``pytracking/parameter/segm/default_params.py`` (DCF and segmentation
settings) and ATOM's classifier (reference-facts section 2). The architecture of a
variant (``trackerzoo_rpvt.model.network.MODEL_CONFIGS``) is fixed by its weights;
``refinement``, ``attention`` and ``mask_fusion`` must match the weights they run with.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import ClassVar

from trackerzoo.params import Relation, param, validate_params
from trackerzoo.training.config import convert_value

TRACKER_NAME = "rpvt"
DEFAULT_VARIANT = "mobilenetv2"
VARIANTS = ("mobilenetv2", "resnet50")


@dataclasses.dataclass
class RpvtParams:
    """Every field is declared with ``param`` (``trackerzoo list --params rpvt`` prints them)."""

    # --- network (must match the weights)
    refinement: str = param("cscr", choices=("cscr", "ms", "d3s"),
                            help="refinement pathway: cscr (RPVT), ms (plain multi-stage), d3s (D3S's own)")
    attention: bool = param(True, help="CSCR: Gaussian attention of stage masks 1-2 in stages 2-3")
    mask_fusion: str = param("weighted", choices=("weighted", "last"),
                             help="CSCR: final mask = learned weighted sum of the stage masks, or the last stage")
    # --- GEM: ATOM's online DCF as D3S sets it
    dcf_sample_size: int = param(256, low=64, high=1024, help="side of the DCF patch, pixels (D3S: 16 * 16)")
    search_area_scale: float = param(4.5, low=1.0, high=10.0, help="DCF patch side / sqrt(target area) (D3S)")
    filter_size: int = param(4, low=1, high=9, help="DCF filter side, feature cells (ATOM)")
    projection_dim: int = param(64, low=1, high=1024, help="channels after the 1x1 projection (ATOM)")
    filter_reg: float = param(0.1, low=0.0, high=100.0, help="filter regularisation (ATOM)")
    projection_reg: float = param(1e-4, low=0.0, high=100.0, help="projection regularisation (ATOM)")
    init_gn_iters: int = param(6, low=1, high=100, help="Gauss-Newton steps of the first-frame fit")
    init_cg_iters: int = param(10, low=1, high=1000, help="CG steps per Gauss-Newton step (60 in total, D3S)")
    update_cg_iters: int = param(5, low=1, high=1000, help="CG steps per update (D3S CG_iter)")
    train_skipping: int = param(10, low=1, high=1000, help="frames between regular filter updates (D3S)")
    learning_rate: float = param(0.0075, low=0.0, high=1.0, low_open=True, help="sample memory learning rate (D3S)")
    memory_size: int = param(250, low=2, high=100000, help="samples kept in memory (ATOM)")
    output_sigma_factor: float = param(0.25, low=0.0, high=2.0, low_open=True,
                                       help="label std / target size (D3S 1/4)")
    response_activation: float = param(0.05, low=0.0, high=10.0,
                                       help="MLU activation parameter of the scores (ATOM 'mlu' 0.05; 0 = none)")
    hard_negative_threshold: float = param(0.3, low=0.0, high=1.0,
                                           help="second peak / first peak above which a frame is a hard negative (D3S)")
    hard_negative_learning_rate: float = param(0.02, low=0.0, high=1.0, low_open=True,
                                               help="memory learning rate of a hard-negative frame (D3S)")
    target_neighborhood_scale: float = param(2.2, low=0.0, high=10.0,
                                             help="target neighbourhood masked when looking for a second peak (ATOM)")
    augment_first_frame: bool = param(True, help="first-frame samples: flip, blurs and shifts as ATOM (else one)")
    tracking_uncertainty_thr: float = param(3.0, low=0.0, high=1e6, low_open=True,
                                            help="mean past peak / this peak above which the DCF is not trusted (D3S)")
    uncertainty_segment_thr: float = param(10.0, low=0.0, high=1e6, low_open=True,
                                           help="uncertainty above which the frame is not segmented (D3S)")
    response_budget: int = param(25, low=1, high=10000, help="past peaks averaged for the uncertainty (D3S)")
    # --- segmentation (D3S)
    segm_search_area_factor: float = param(4.0, low=1.0, high=10.0, help="segmentation crop side / sqrt(target area)")
    # D3S: 384 (24 * 16); our mobilenetv2 weights are trained on 256 px crops (CPU budget).
    segm_output_size: int = param(256, low=64, high=1024, help="segmentation crop side, pixels (D3S 384)")
    mask_threshold: float = param(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                                  help="foreground probability above which a pixel is target")
    init_mask_threshold: float = param(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                                       help="threshold of the first-frame segmentation (box initialisation)")
    min_contour_area: float = param(50.0, low=0.0, high=1e9, help="smallest mask component used, crop pixels (D3S)")
    rotated_fit: str = param("ellipse", choices=("ellipse", "min_area"),
                             help="rotated box fitted to the mask (RPVT: ellipse; D3S: min_area)")
    # D3S: True. Off by default for our briefly trained weights: their masks are biased in size,
    # and the per-frame scale update compounds the bias (the box shrank or grew 5 % a frame on a
    # procedural clip); off, the mask still places the target and gives the box, only the crop
    # scale stays the first frame's.
    segm_scale_estimation: bool = param(False, help="let the mask change the target scale (D3S: True)")
    min_scale_change: float = param(0.95, low=0.0, high=1.0, low_open=True, help="per-frame scale clamp, low (D3S)")
    max_scale_change: float = param(1.05, low=1.0, high=10.0, help="per-frame scale clamp, high (D3S)")
    max_rel_scale_change: float = param(0.75, low=0.0, high=10.0, low_open=True,
                                        help="relative scale change from the mask above which it is ignored (D3S)")
    segm_min_scale: float = param(0.2, low=0.0, high=10.0, help="smallest target scale taken from the mask (D3S)")
    segm_pixels_ratio: float = param(2.0, low=0.0, high=100.0, low_open=True,
                                     help="mask-area change (vs recent mean) above which scale is not updated (D3S)")
    consider_segm_pixels_ratio: float = param(1.0, low=0.0, high=100.0, low_open=True,
                                              help="mask-area change below which the mask sets the position (D3S)")
    uncertainty_segm_scale_thr: float = param(3.5, low=0.0, high=1e6, low_open=True,
                                              help="uncertainty above which the mask does not set the scale (D3S)")
    mask_pixels_budget: int = param(25, low=1, high=10000, help="past mask areas averaged (D3S)")
    seed: int = param(0, low=0, high=2**63 - 1, help="seed of the tracker's generator (random weights)")

    relations: ClassVar[tuple[Relation, ...]] = (
        Relation("dcf_sample_size % 16 == 0", lambda p: p.dcf_sample_size % 16 == 0),
        Relation("segm_output_size % 16 == 0", lambda p: p.segm_output_size % 16 == 0),
        Relation("min_scale_change <= max_scale_change", lambda p: p.min_scale_change <= p.max_scale_change),
    )

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hints[field.name] is not str and isinstance(value, str):
                setattr(self, field.name, convert_value(field.name, value, hints[field.name]))
        validate_params(self, TRACKER_NAME)
