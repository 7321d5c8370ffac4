"""Training harness: samplers, losses, schedules, the trainer and recipe lookup.

Plugins describe how their tracker is trained as a :class:`Recipe` (registered with
``trackerzoo_register_recipes``); ``trackerzoo train <recipe>`` or :class:`Trainer` run it.
"""

from trackerzoo.training.config import TrainConfig, apply_overrides, parse_assignments
from trackerzoo.training.recipe import Recipe, RecipeNotFoundError, build_recipe, datasets_from_spec, get_recipe_info
from trackerzoo.training.samplers import CropSpec, PairSampler, SequenceSampler
from trackerzoo.training.schedules import LearningRateSchedule
from trackerzoo.training.tracking_metric import ope_evaluator, track_sequence
from trackerzoo.training.trainer import Trainer, TrainResult, ValidationCallback

__all__ = [
    "CropSpec",
    "LearningRateSchedule",
    "PairSampler",
    "Recipe",
    "RecipeNotFoundError",
    "SequenceSampler",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "ValidationCallback",
    "apply_overrides",
    "build_recipe",
    "datasets_from_spec",
    "get_recipe_info",
    "ope_evaluator",
    "parse_assignments",
    "track_sequence",
]
