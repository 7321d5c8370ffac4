"""pluggy hook specifications: the only way trackers, recipes, datasets and filters get in.

A plugin is a module named by an entry point in the ``trackerzoo`` group (core's own
built-in plugins are registered by core itself, the way pytest registers its
``_pytest.*`` modules). It implements any of the hooks below; each receives one
argument, ``registry``, a ``trackerzoo.registry.RegistryScope`` bound to the
distribution the plugin came from::

    from trackerzoo import hookimpl

    @hookimpl
    def trackerzoo_register_trackers(registry):
        registry.add("mytracker", MyTracker, paper="...", outputs={"box"})

A function whose name starts with ``trackerzoo_`` but matches no hook below (a typo
such as ``trackerzoo_register_tracker``) makes loading fail with a
``PluginHookError`` naming it, instead of silently registering nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from trackerzoo.registry import RegistryScope

PROJECT_NAME = "trackerzoo"
ENTRY_POINT_GROUP = "trackerzoo"
HOOK_PREFIX = "trackerzoo_"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class TrackerzooHookSpecs:
    """The hooks a plugin may implement (all optional; each is called once per plugin)."""

    @hookspec
    def trackerzoo_register_trackers(self, registry: RegistryScope) -> None:  # pragma: no cover - spec only
        """Add trackers: ``registry.add(name, TrackerClass, paper=, outputs=, variants=, ...)``.

        All keywords: ``paper``, ``outputs``, ``variants``, ``default_variant``, ``description``,
        ``rank`` (the order in which the CLI picks a default tracker, highest first),
        ``batch_factory`` (``batch_factory(prototype, n) -> trackerzoo.batch.BatchTracker``:
        a native batched implementation for ``trackerzoo.create_batch``; optional).

        ``default_variant`` is the one place a tracker's default variant is stated;
        which file serves a variant is stated only in ``weights/manifest.json``.
        """

    @hookspec
    def trackerzoo_register_recipes(self, registry: RegistryScope) -> None:  # pragma: no cover - spec only
        """Add training recipes: ``registry.add_recipe(name, build, tracker=, description=)``."""

    @hookspec
    def trackerzoo_register_dataset_loaders(self, registry: RegistryScope) -> None:  # pragma: no cover
        """Add dataset layouts: ``registry.add_loader(kind, loader, description=)``.

        ``loader(root: pathlib.Path, **options) -> trackerzoo.datasets.Dataset`` is what
        ``trackerzoo.datasets.load_dataset(kind, root, **options)`` calls.
        """

    @hookspec
    def trackerzoo_register_checkpoint_filters(self, registry: RegistryScope) -> None:  # pragma: no cover
        """Add checkpoint filters: ``registry.add_checkpoint_filter(name, filter, model=, description=)``.

        ``filter(state_dict, model) -> state_dict`` renames an official checkpoint's
        keys to the plugin's module names (timm's ``checkpoint_filter_fn`` idea);
        ``model`` is the module built by the zero-argument ``model`` factory given at
        registration, or ``None`` when none was given. ``trackerzoo convert --tracker NAME``
        looks the filter up by ``name``.
        """
