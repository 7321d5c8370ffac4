"""CRACT network modules: one job per module (features, RPN, anchors, pyramid pooling, heads)."""

from trackerzoo_cract.model.discriminator import Discriminator
from trackerzoo_cract.model.network import CractNet, Refinement, TemplateEmbedding

__all__ = ["CractNet", "Discriminator", "Refinement", "TemplateEmbedding"]
