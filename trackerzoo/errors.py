"""Exceptions of the public API.

Every error a user can provoke with bad input is a ``ValueError`` (or ``KeyError``
for unknown names) whose message names the offending value, so that callers never
have to decode a traceback from deep inside torch or OpenCV.
"""

from __future__ import annotations


class TrackerNotFoundError(KeyError):
    """``create(name)`` with a name no installed plugin registers."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = sorted(available)
        listing = ", ".join(self.available) if self.available else "(none installed)"
        super().__init__(f"no tracker named {name!r}; available trackers: {listing}")

    def __str__(self) -> str:  # KeyError would otherwise print the message quoted
        return str(self.args[0])


class DuplicateTrackerError(ValueError):
    """Two plugin distributions register the same tracker name."""


class NotInitializedError(ValueError, RuntimeError):
    """``track()`` was called before ``initialize()``."""


class WeightsNotFoundError(FileNotFoundError):
    """A weight file named by the manifest or by the user is missing."""


class DataWarning(UserWarning):
    """Something about the user's data that changes what a command does; the CLI prints it as one line."""


class FrameCountWarning(DataWarning):
    """A video's header promises more frames than decode (e.g. a truncated file); the decodable ones are used."""


class NothingToScoreWarning(DataWarning):
    """A metric had no frame (or run) to score, so it is reported as NaN (``null`` in JSON).

    The message says which metric and why: e.g. a GOT-10k sequence whose target is never
    visible after the first frame, or VOT runs all shorter than the EAO interval.
    """
