"""trackerzoo: a plugin-based zoo of single-object visual trackers.

    import trackerzoo
    tracker = trackerzoo.create("csrt")
    tracker.initialize(first_frame, box=(x, y, w, h))
    prediction = tracker.track(next_frame)   # .box, .score, .mask, .rotated_box

    for prediction in trackerzoo.track_video("csrt", "video.mp4", box=(x, y, w, h)):
        ...                                     # frames are read as RGB, not OpenCV's BGR
"""

from trackerzoo.api import create, create_batch, list_trackers
from trackerzoo.batch import BatchTracker
from trackerzoo.errors import DuplicateTrackerError, NotInitializedError, TrackerNotFoundError
from trackerzoo.hookspecs import hookimpl
from trackerzoo.prediction import Prediction
from trackerzoo.registry import TrackerInfo
from trackerzoo.session import track_video
from trackerzoo.tracker import Tracker

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
