"""pluggy registration of the OpenCV trackers."""

from __future__ import annotations

from trackerzoo import hookimpl
from trackerzoo_opencv.tracker import CsrtTracker, KcfTracker, MilTracker


@hookimpl
def trackerzoo_register_trackers(registry) -> None:
    registry.add(
        "csrt",
        CsrtTracker,
        paper="Lukezic et al., Discriminative Correlation Filter with Channel and Spatial Reliability, CVPR 2017",
        description="OpenCV contrib CSRT (discriminative correlation filter with spatial reliability)",
        rank=30,  # the most accurate classic baseline: the default when no paper tracker is installed
    )
    registry.add(
        "kcf",
        KcfTracker,
        paper="Henriques et al., High-Speed Tracking with Kernelized Correlation Filters, TPAMI 2015",
        description="OpenCV contrib KCF (kernelized correlation filter)",
        rank=20,
    )
    registry.add(
        "mil",
        MilTracker,
        paper="Babenko et al., Visual Tracking with Online Multiple Instance Learning, CVPR 2009",
        description="OpenCV contrib MIL (online multiple-instance boosting)",
        rank=10,
    )
