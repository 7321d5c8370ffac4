"""trackerzoo: a plugin-based zoo of single-object visual trackers.

    import trackerzoo
    tracker = trackerzoo.create("csrt")
    tracker.initialize(first_frame, box=(x, y, w, h))
    prediction = tracker.track(next_frame)   # .box, .score, .mask, .rotated_box

    for prediction in trackerzoo.track_video("csrt", "video.mp4", box=(x, y, w, h)):
        ...                                     # frames are read as RGB, not OpenCV's BGR

Importing the package sets ``OMP_WAIT_POLICY=PASSIVE`` (unless set) before torch is imported,
so idle OpenMP threads sleep instead of spinning (``trackerzoo.threads``).
"""

# First, before anything imports torch: OpenMP reads its wait policy once, at start-up.
# False when torch was imported before trackerzoo (or the user chose another policy).
from trackerzoo.threads import use_passive_waiting

PASSIVE_WAITING = use_passive_waiting()

from trackerzoo.api import create, create_batch, list_trackers  # noqa: E402
from trackerzoo.batch import BatchTracker  # noqa: E402
from trackerzoo.errors import DuplicateTrackerError, NotInitializedError, TrackerNotFoundError  # noqa: E402
from trackerzoo.hookspecs import hookimpl  # noqa: E402
from trackerzoo.prediction import Prediction  # noqa: E402
from trackerzoo.registry import TrackerInfo  # noqa: E402
from trackerzoo.session import track_video  # noqa: E402
from trackerzoo.tracker import Tracker  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BatchTracker",
    "DuplicateTrackerError",
    "NotInitializedError",
    "Prediction",
    "Tracker",
    "TrackerInfo",
    "TrackerNotFoundError",
    "__version__",
    "create",
    "create_batch",
    "hookimpl",
    "list_trackers",
    "track_video",
]
