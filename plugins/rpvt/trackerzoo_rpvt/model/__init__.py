"""RPVT's segmentation network: backbone, GIM matching, D3S / multi-stage / CSCR refinement."""

from .matching import ForegroundBackgroundMatching, topk_similarity
from .network import RpvtNet
from .refinement import CSCRRefinement, D3SRefinement, conv_bn, conv_bn_relu

__all__ = [
    "CSCRRefinement",
    "D3SRefinement",
    "ForegroundBackgroundMatching",
    "RpvtNet",
    "conv_bn",
    "conv_bn_relu",
    "topk_similarity",
]
