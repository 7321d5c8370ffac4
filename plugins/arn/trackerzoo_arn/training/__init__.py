"""Offline training of ARN (``trackerzoo train arn``)."""
