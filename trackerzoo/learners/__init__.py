"""Online learners shared by the trackers; see ``docs/learners.md`` for which to use.

- :mod:`.dcf`: ATOM's linear DCF (optional 1x1 projection), Gauss-Newton + conjugate
  gradient on ``ops.dcf_cg`` / ``ops.dcf_normal_apply`` (ATOM, D3S, IBFP's online branch).
- :mod:`.gauss_newton`: matrix-free Gauss-Newton + CG for a small network that gives
  ``J v`` and ``J^T u`` (closed form or ``torch.func``; CRACT's discriminator).
- :mod:`.steepest_descent`: DiMP's steepest descent with the hinge residual and LWL's
  few-shot learner with per-pixel weights (RTS).
- :mod:`.memory` (keep-first, replace lowest-weight or oldest, learning-rate decay) and
  :mod:`.short_long_memory` (MDNet's short/long-term windows): sample memories.
"""

from .conjugate_gradient import conjugate_gradient
from .dcf import GaussNewtonDCFLearner, combined_filter, dcf_loss, project_features
from .gauss_newton import Linearizable, Linearization, autograd_linearization, gauss_newton_fit
from .linear_filter import apply_filter, default_padding, filter_gradient
from .memory import SampleMemory
from .short_long_memory import SampleSet, ShortLongMemory
from .steepest_descent import DiMPSteepestDescent, LWLFewShotLearner, steepest_descent

__all__ = [
    "DiMPSteepestDescent",
    "GaussNewtonDCFLearner",
    "LWLFewShotLearner",
    "Linearizable",
    "Linearization",
    "SampleMemory",
    "SampleSet",
    "ShortLongMemory",
    "apply_filter",
    "autograd_linearization",
    "combined_filter",
    "conjugate_gradient",
    "dcf_loss",
    "default_padding",
    "filter_gradient",
    "gauss_newton_fit",
    "project_features",
    "steepest_descent",
]
