"""pluggy registration of the CRACT tracker and its training recipe."""

from __future__ import annotations

from trackerzoo import hookimpl

PAPER = "Heng Fan and Haibin Ling. CRACT: Cascaded Regression-Align-Classification for Robust Visual Tracking"


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    from trackerzoo_cract.params import MODEL_CONFIGS
    from trackerzoo_cract.tracker import CractTracker

    registry.add(
        "cract",
        CractTracker,
        paper=PAPER,
        outputs={"box"},
        variants=tuple(MODEL_CONFIGS),
        default_variant="mobilenetv2",
        description="Siamese RPN + cascaded regression-align-classification with an online discriminator",
    )


@hookimpl
def trackerzoo_register_recipes(registry) -> None:
    from trackerzoo_cract.training.recipe import build_recipe

    registry.add_recipe("cract", build_recipe, tracker="cract", description="CRACT offline training (RPN + CRAC)")
