"""pluggy registration of RTS: the tracker, its training recipe and its checkpoint filters."""

from __future__ import annotations

import functools

from trackerzoo import hookimpl

PAPER = (
    "Matthieu Paul, Martin Danelljan, Christoph Mayer, Luc Van Gool. "
    "Robust Visual Tracking by Segmentation (ECCV 2022)"
)


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    from trackerzoo_rts.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME
    from trackerzoo_rts.tracker import RtsTracker

    registry.add(
        TRACKER_NAME,
        RtsTracker,
        paper=PAPER,
        outputs={"box", "mask"},
        variants=tuple(MODEL_CONFIGS),
        default_variant=DEFAULT_VARIANT,
        description="segmentation-centric tracker: LWL few-shot segmentation conditioned on a DiMP instance branch",
        rank=4,  # 63-step weights, far below CSRT (README, "RTS on zoo-synth-val"): last in the CLI default order
    )


@hookimpl
def trackerzoo_register_recipes(registry) -> None:
    from trackerzoo_rts.params import TRACKER_NAME
    from trackerzoo_rts.training.recipe import build_recipe
    from trackerzoo_rts.training.sta_recipe import build_recipe as build_sta_recipe

    registry.add_recipe(TRACKER_NAME, build_recipe, tracker=TRACKER_NAME,
                        description="RTS sequence training (Eqs. 3-5: Lovasz over J frames + eta * hinge)")
    registry.add_recipe(f"{TRACKER_NAME}-sta", build_sta_recipe, tracker=TRACKER_NAME,
                        description="STA box-to-mask network of RTS's box initialisation (Lovasz on both passes)")


@hookimpl
def trackerzoo_register_checkpoint_filters(registry) -> None:
    from trackerzoo_rts.model.network import RtsNet, checkpoint_filter, detecting_checkpoint_filter
    from trackerzoo_rts.model.sta import StaNet
    from trackerzoo_rts.params import MODEL_CONFIGS, TRACKER_NAME

    registry.add_checkpoint_filter(
        TRACKER_NAME, detecting_checkpoint_filter,
        description="official rts50.pth (variant resnet50) or a `trackerzoo train rts` checkpoint -> weight file",
    )
    registry.add_checkpoint_filter(
        f"{TRACKER_NAME}-sta", checkpoint_filter, model=functools.partial(StaNet, MODEL_CONFIGS["resnet50"]),
        description="official sta.pth.tar (RTS's box-to-mask network) -> weight file (`--tracker rts --part sta`)",
    )
    for variant, config in MODEL_CONFIGS.items():
        registry.add_checkpoint_filter(
            f"{TRACKER_NAME}-{variant}", checkpoint_filter, model=functools.partial(RtsNet, config),
            description=f"RTS {variant}: official rts50.pth (resnet50) or a training checkpoint -> weight file",
        )
