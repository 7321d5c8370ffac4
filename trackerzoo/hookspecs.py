"""pluggy hook specifications through which plugins add trackers (and training recipes).

A plugin module (named by an entry point in the ``trackerzoo`` group) implements::

    from trackerzoo import hookimpl

    @hookimpl
    def trackerzoo_register_trackers(registry):
        registry.add("mytracker", MyTracker, paper="...", outputs={"box"})
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "trackerzoo"
ENTRY_POINT_GROUP = "trackerzoo"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class TrackerzooHookSpecs:
    """The hooks a plugin may implement."""

    @hookspec
    def trackerzoo_register_trackers(self, registry) -> None:  # pragma: no cover - spec only
        """Add trackers to ``registry`` (a ``trackerzoo.registry.RegistryScope``)."""

    @hookspec
    def trackerzoo_register_recipes(self, registry) -> None:  # pragma: no cover - spec only
        """Add training recipes to ``registry`` (a ``trackerzoo.registry.RegistryScope``)."""
