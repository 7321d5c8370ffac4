"""pluggy registration of CRACT: the tracker, its training recipe and its checkpoint filters."""

from __future__ import annotations

import functools

from trackerzoo import hookimpl

PAPER = "Heng Fan and Haibin Ling. CRACT: Cascaded Regression-Align-Classification for Robust Visual Tracking"


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    from trackerzoo_cract.batch import build_batch
    from trackerzoo_cract.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME
    from trackerzoo_cract.tracker import CractTracker

    registry.add(
        TRACKER_NAME,
        CractTracker,
        paper=PAPER,
        outputs={"box"},
        variants=tuple(MODEL_CONFIGS),
        default_variant=DEFAULT_VARIANT,
        description="Siamese RPN + cascaded regression-align-classification with an online discriminator",
        rank=100,  # trained weights ship: the CLI's default tracker when installed
        batch_factory=build_batch,  # one backbone/RPN/CRAC call per step over all sequences
    )


@hookimpl
def trackerzoo_register_recipes(registry) -> None:
    from trackerzoo_cract.params import TRACKER_NAME
    from trackerzoo_cract.training.recipe import build_recipe

    registry.add_recipe(
        TRACKER_NAME, build_recipe, tracker=TRACKER_NAME, description="CRACT offline training (RPN + CRAC)"
    )


@hookimpl
def trackerzoo_register_checkpoint_filters(registry) -> None:
    from trackerzoo_cract.model.network import CractNet, checkpoint_filter
    from trackerzoo_cract.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME

    registry.add_checkpoint_filter(
        TRACKER_NAME,
        checkpoint_filter,
        model=functools.partial(CractNet, MODEL_CONFIGS[DEFAULT_VARIANT]),
        description=f"a `trackerzoo train cract` checkpoint (variant {DEFAULT_VARIANT}) -> weight file",
    )
    for variant, config in MODEL_CONFIGS.items():
        registry.add_checkpoint_filter(
            f"{TRACKER_NAME}-{variant}",
            checkpoint_filter,
            model=functools.partial(CractNet, config),
            description=f"a `trackerzoo train cract` checkpoint (variant {variant}) -> weight file",
        )
