"""pluggy registration of ARN: the tracker, its training recipe and its checkpoint filters."""

from __future__ import annotations

import functools

from trackerzoo import hookimpl

PAPER = ("Zhipeng Zhang, Bing Li, Weiming Hu, Houwen Peng. Towards Accurate Pixel-wise Object Tracking by "
         "Attention Retrieval (OceanPlus)")


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    from trackerzoo_arn.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME
    from trackerzoo_arn.tracker import ArnTracker

    registry.add(
        TRACKER_NAME, ArnTracker, paper=PAPER, outputs={"box", "mask"}, variants=tuple(MODEL_CONFIGS),
        default_variant=DEFAULT_VARIANT,
        description="anchor-free Siamese tracker (Ocean) + attention retrieval + multi-stage segmentation",
        rank=25,  # below CSRT until our CPU-trained weights are shown to beat it (README, "ARN on zoo-synth-val")
    )


@hookimpl
def trackerzoo_register_recipes(registry) -> None:
    from trackerzoo_arn.params import TRACKER_NAME
    from trackerzoo_arn.training.recipe import build_recipe

    registry.add_recipe(TRACKER_NAME, build_recipe, tracker=TRACKER_NAME,
                        description="ARN offline training (Ocean losses + mask BCE + 0.1 contour BCE)")


@hookimpl
def trackerzoo_register_checkpoint_filters(registry) -> None:
    from trackerzoo_arn.model.network import ArnNet, checkpoint_filter
    from trackerzoo_arn.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME

    registry.add_checkpoint_filter(
        TRACKER_NAME, checkpoint_filter, model=functools.partial(ArnNet, MODEL_CONFIGS["resnet50"]),
        description="TracKit OceanPlus (MMS) state dict, plain or module.-prefixed -> arn resnet50 weights",
    )
    for variant, config in MODEL_CONFIGS.items():
        registry.add_checkpoint_filter(
            f"{TRACKER_NAME}-{variant}", checkpoint_filter, model=functools.partial(ArnNet, config),
            description=f"arn {variant}: a TracKit OceanPlus state dict or a `trackerzoo train arn` checkpoint"
            + (" (default variant)" if variant == DEFAULT_VARIANT else ""),
        )
