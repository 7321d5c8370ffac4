"""IBFP (instance-based feature pyramid) tracker plugin for trackerzoo."""

from trackerzoo_ibfp.params import DEFAULT_VARIANT, MODEL_CONFIGS, TRACKER_NAME, IbfpParams

__all__ = ["DEFAULT_VARIANT", "MODEL_CONFIGS", "TRACKER_NAME", "IbfpParams"]
