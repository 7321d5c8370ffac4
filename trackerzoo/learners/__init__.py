"""Online learners shared by the trackers: sample memory, ATOM Gauss-Newton/CG, DiMP/LWL steepest descent."""

from .gauss_newton import (
    GaussNewtonDCFLearner,
    combined_filter,
    conjugate_gradient,
    dcf_loss,
    project_features,
)
from .labels import gaussian_label_map
from .linear_filter import apply_filter, default_padding, filter_gradient
from .memory import SampleMemory
from .steepest_descent import DiMPSteepestDescent, LWLFewShotLearner, steepest_descent

__all__ = [
    "DiMPSteepestDescent",
    "GaussNewtonDCFLearner",
    "LWLFewShotLearner",
    "SampleMemory",
    "apply_filter",
    "combined_filter",
    "conjugate_gradient",
    "dcf_loss",
    "default_padding",
    "filter_gradient",
    "gaussian_label_map",
    "project_features",
    "steepest_descent",
]
