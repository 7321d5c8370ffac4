"""The CLI's default tracker: the highest-ranked installed tracker whose weights are present.

Plugins declare a ``rank`` when they register a tracker (``RegistryScope.add``); the
core names no tracker. ``trackerzoo demo`` and ``trackerzoo track`` use this one rule
when ``--tracker`` is not given.
"""

from __future__ import annotations

import argparse
from typing import Any

import trackerzoo
from trackerzoo.errors import TrackerNotFoundError, WeightsNotFoundError

# Put in a ``--tracker`` help text; ``DefaultTrackerHelpFormatter`` replaces it with the
# installed trackers in rank order when (and only when) that help is printed.
DEFAULT_TRACKER_HELP = "{default_tracker}"


def ranked_tracker_names() -> list[str]:
    """Installed tracker names, highest ``rank`` first (ties by name)."""
    return [info.name for info in sorted(trackerzoo.list_trackers(), key=lambda info: (-info.rank, info.name))]


def describe_default_tracker() -> str:
    """The default tracker by name, e.g. ``cract (if its weights are present; else csrt, kcf, mil, by rank)``."""
    names = ranked_tracker_names()
    if not names:
        return "none: no tracker is installed"
    if len(names) == 1:
        return f"{names[0]} (the only installed tracker)"
    return f"{names[0]} (if its weights are present; else {', '.join(names[1:])}, by rank)"


class DefaultTrackerHelpFormatter(argparse.HelpFormatter):
    """Help formatter that names the default tracker where a help text holds ``DEFAULT_TRACKER_HELP``.

    The plugins are only looked up when the help is printed, not each time the parser is built.
    """

    def _expand_help(self, action: argparse.Action) -> str:
        text = super()._expand_help(action)
        return text.replace(DEFAULT_TRACKER_HELP, describe_default_tracker()) if DEFAULT_TRACKER_HELP in text else text


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
