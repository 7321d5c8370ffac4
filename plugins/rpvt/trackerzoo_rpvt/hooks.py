"""pluggy registration of RPVT: the tracker, its training recipe and its checkpoint filters."""

from __future__ import annotations

import functools

from trackerzoo import hookimpl

PAPER = ("RPVT: a cross-stage and cross-resolution (CSCR) refinement pathway for "
         "segmentation-based visual tracking, on D3S (Lukezic et al., CVPR 2020)")


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    from trackerzoo_rpvt.params import DEFAULT_VARIANT, TRACKER_NAME, VARIANTS
    from trackerzoo_rpvt.tracker import RpvtTracker

    registry.add(
        TRACKER_NAME,
        RpvtTracker,
        paper=PAPER,
        outputs={"box", "mask"},
        variants=VARIANTS,
        default_variant=DEFAULT_VARIANT,
        description="D3S (online DCF + fg/bg matching) with the CSCR refinement; box, mask, rotated box",
        rank=5,  # briefly trained weights: after the OpenCV baselines in the CLI default order
    )


@hookimpl
def trackerzoo_register_recipes(registry) -> None:
    from trackerzoo_rpvt.params import TRACKER_NAME
    from trackerzoo_rpvt.training.recipe import build_recipe

    registry.add_recipe(TRACKER_NAME, build_recipe, tracker=TRACKER_NAME,
                        description="RPVT segmentation network (D3S recipe, deep supervision)")


@hookimpl
def trackerzoo_register_checkpoint_filters(registry) -> None:
    from trackerzoo_rpvt.model.network import (
        MODEL_CONFIGS,
        RpvtNet,
        d3s_checkpoint_filter,
        training_checkpoint_filter,
    )
    from trackerzoo_rpvt.params import TRACKER_NAME

    registry.add_checkpoint_filter(
        TRACKER_NAME, d3s_checkpoint_filter,
        model=functools.partial(RpvtNet, MODEL_CONFIGS["resnet50"], "d3s"),
        description="official D3S SegmNet.pth.tar -> rpvt resnet50, refinement='d3s' (strict)",
    )
    registry.add_checkpoint_filter(
        f"{TRACKER_NAME}-resnet50-cscr", d3s_checkpoint_filter,
        model=functools.partial(RpvtNet, MODEL_CONFIGS["resnet50"], "cscr"),
        description="official D3S SegmNet.pth.tar -> rpvt resnet50 backbone/matching/mixer; CSCR keys from RPVT",
    )
    for refinement in ("cscr", "ms", "d3s"):
        registry.add_checkpoint_filter(
            f"{TRACKER_NAME}-train-mobilenetv2-{refinement}", training_checkpoint_filter,
            model=functools.partial(RpvtNet, MODEL_CONFIGS["mobilenetv2"], refinement),
            description=f"a `trackerzoo train rpvt` checkpoint (mobilenetv2, {refinement}) -> weight file",
        )
