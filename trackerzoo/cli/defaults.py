"""The CLI's default tracker: the highest-ranked installed tracker whose weights are present.

Plugins declare a ``rank`` when they register a tracker (``RegistryScope.add``); the
core names no tracker. ``trackerzoo demo`` and ``trackerzoo track`` use this one rule
when ``--tracker`` is not given.
"""

from __future__ import annotations

from typing import Any

import trackerzoo
from trackerzoo.errors import TrackerNotFoundError, WeightsNotFoundError

DEFAULT_RULE = "the highest-ranked installed tracker with its weights present (see `trackerzoo list`)"


def ranked_tracker_names() -> list[str]:
    """Installed tracker names, highest ``rank`` first (ties by name)."""
    return [info.name for info in sorted(trackerzoo.list_trackers(), key=lambda info: (-info.rank, info.name))]


def create_default_or(forced: str | None, *, device: str = "auto", **kwargs: Any) -> tuple[str, trackerzoo.Tracker]:
    """``(name, tracker)``: ``forced`` when given, else the first ranked tracker that builds.

    A tracker whose weights are missing (``WeightsNotFoundError``/``FileNotFoundError``)
    is skipped with a one-line note. ``kwargs`` go to ``trackerzoo.create``. Raises
    ``TrackerNotFoundError`` when no installed tracker can be built.
    """
    if forced:
        return forced, trackerzoo.create(forced, device=device, **kwargs)
    names = ranked_tracker_names()
    for name in names:
        try:
            return name, trackerzoo.create(name, device=device, **kwargs)
        except (WeightsNotFoundError, FileNotFoundError) as exc:
            print(f"skipping {name}: {exc}")
    raise TrackerNotFoundError("(any installed tracker with its weights)", names)
