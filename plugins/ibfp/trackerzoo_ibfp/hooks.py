"""pluggy registration of IBFP: the tracker, its training recipe and its checkpoint filters."""

from __future__ import annotations

import functools

from trackerzoo import hookimpl

PAPER = ("Zhixiong Pi, Yuanjie Shao, Changxin Gao, Nong Sang. Instance-based Feature Pyramid for Visual "
         "Object Tracking")


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    from trackerzoo_ibfp.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME
    from trackerzoo_ibfp.tracker import IbfpTracker

    registry.add(
        TRACKER_NAME,
        IbfpTracker,
        paper=PAPER,
        outputs={"box"},
        variants=tuple(MODEL_CONFIGS),
        default_variant=DEFAULT_VARIANT,
        description="Siamese anchor-free tracker on an instance-based feature pyramid (IBU + CSCS) "
                    "with an ATOM-style online branch",
    )


@hookimpl
def trackerzoo_register_recipes(registry) -> None:
    from trackerzoo_ibfp.params import TRACKER_NAME
    from trackerzoo_ibfp.training.recipe import build_recipe

    registry.add_recipe(TRACKER_NAME, build_recipe, tracker=TRACKER_NAME,
                        description="IBFP offline training (focal hinge MSE + L1 on l, t, r, b)")


@hookimpl
def trackerzoo_register_checkpoint_filters(registry) -> None:
    from trackerzoo_ibfp.network import IbfpNet, checkpoint_filter
    from trackerzoo_ibfp.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME

    registry.add_checkpoint_filter(
        TRACKER_NAME, checkpoint_filter, model=functools.partial(IbfpNet, MODEL_CONFIGS[DEFAULT_VARIANT]),
        description=f"a `trackerzoo train ibfp` checkpoint (variant {DEFAULT_VARIANT}) -> weight file",
    )
    for variant, config in MODEL_CONFIGS.items():
        registry.add_checkpoint_filter(
            f"{TRACKER_NAME}-{variant}", checkpoint_filter, model=functools.partial(IbfpNet, config),
            description=f"a `trackerzoo train ibfp` checkpoint (variant {variant}) -> weight file",
        )
