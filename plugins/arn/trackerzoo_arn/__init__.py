"""ARN / OceanPlus for trackerzoo: anchor-free Siamese tracking, attention retrieval, multi-stage masks."""

from trackerzoo_arn.params import TRACKER_NAME

__all__ = ["TRACKER_NAME"]
