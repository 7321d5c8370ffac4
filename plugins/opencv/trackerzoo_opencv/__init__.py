"""Classic OpenCV trackers (CSRT, KCF, MIL): the baselines of every accuracy comparison."""

from trackerzoo_opencv.tracker import CsrtTracker, KcfTracker, MilTracker

__all__ = ["CsrtTracker", "KcfTracker", "MilTracker"]
