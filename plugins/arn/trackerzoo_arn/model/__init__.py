"""The OceanPlus network: trunk, neck, Ocean box tower, ARN and the MMS mask decoder."""

from trackerzoo_arn.model.network import ArnNet, checkpoint_filter

__all__ = ["ArnNet", "checkpoint_filter"]
