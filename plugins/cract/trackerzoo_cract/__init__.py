"""CRACT: Siamese RPN proposals refined by a cascade of box regression, feature alignment
and identification/discrimination (Fan and Ling, "CRACT: Cascaded Regression-Align-
Classification for Robust Visual Tracking")."""

from trackerzoo_cract.params import CractParams
from trackerzoo_cract.tracker import CractTracker

__all__ = ["CractParams", "CractTracker"]
