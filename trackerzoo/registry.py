"""Discovery of trackers (and training recipes) from installed plugin distributions.

Plugins are found through the ``trackerzoo`` entry-point group and called through
pluggy. Each plugin's hook receives a ``RegistryScope`` bound to the distribution it
came from, so every tracker knows which installed package provided it and a duplicate
name can be reported with both distributions.

Set ``TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry points (tests register the
plugins they need explicitly with ``load_registry(plugins=[...])``).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import pluggy

from trackerzoo.errors import DuplicateTrackerError, TrackerNotFoundError
from trackerzoo.hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME, TrackerzooHookSpecs

AUTOLOAD_ENV = "TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD"


@dataclasses.dataclass(frozen=True)
class TrackerInfo:
    """What ``trackerzoo.list_trackers()`` reports about one tracker."""

    name: str
    factory: Callable[..., Any] = dataclasses.field(repr=False)
    outputs: frozenset[str]
    paper: str
    variants: tuple[str, ...]
    default_variant: str
    distribution: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class RecipeInfo:
    """A training recipe registered by a plugin (``trackerzoo train <name>``)."""

    name: str
    tracker: str
    build: Callable[..., Any] = dataclasses.field(repr=False)
    distribution: str
    description: str = ""


class Registry:
    """All trackers and recipes known in this process."""

    def __init__(self) -> None:
        self.trackers: dict[str, TrackerInfo] = {}
        self.recipes: dict[str, RecipeInfo] = {}
        self.failed_plugins: dict[str, str] = {}

    def scope(self, distribution: str) -> RegistryScope:
        return RegistryScope(self, distribution)

    def get(self, name: str) -> TrackerInfo:
        try:
            return self.trackers[name]
        except KeyError:
            raise TrackerNotFoundError(name, list(self.trackers)) from None

    def _add_tracker(self, info: TrackerInfo) -> None:
        existing = self.trackers.get(info.name)
        if existing is not None:
            raise DuplicateTrackerError(
                f"tracker name {info.name!r} is registered twice: by distribution "
                f"{existing.distribution!r} and by distribution {info.distribution!r}"
            )
        self.trackers[info.name] = info

    def _add_recipe(self, info: RecipeInfo) -> None:
        existing = self.recipes.get(info.name)
        if existing is not None:
            raise DuplicateTrackerError(
                f"recipe name {info.name!r} is registered twice: by distribution "
                f"{existing.distribution!r} and by distribution {info.distribution!r}"
            )
        self.recipes[info.name] = info


class RegistryScope:
    """The registry as one plugin distribution sees it inside its hook."""

    def __init__(self, registry: Registry, distribution: str) -> None:
        self._registry = registry
        self.distribution = distribution

    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        paper: str,
        outputs: Iterable[str] = ("box",),
        variants: Iterable[str] = ("default",),
        default_variant: str | None = None,
        description: str = "",
    ) -> None:
        """Register tracker ``name`` built by ``factory(params, variant=, weights=, device=)``."""
        outputs = frozenset(outputs)
        if not outputs or not outputs <= {"box", "mask"} or "box" not in outputs:
            raise ValueError(f"outputs of {name!r} must be {{'box'}} or {{'box', 'mask'}}, got {set(outputs)}")
        variants = tuple(variants)
        if not variants:
            raise ValueError(f"tracker {name!r} needs at least one variant")
        default_variant = default_variant or variants[0]
        if default_variant not in variants:
            raise ValueError(f"default variant {default_variant!r} of {name!r} is not among {variants}")
        self._registry._add_tracker(
            TrackerInfo(
                name=name,
                factory=factory,
                outputs=outputs,
                paper=paper,
                variants=variants,
                default_variant=default_variant,
                distribution=self.distribution,
                description=description,
            )
        )

    def add_recipe(self, name: str, build: Callable[..., Any], *, tracker: str, description: str = "") -> None:
        """Register training recipe ``name`` (``build(overrides) -> recipe object``)."""
        self._registry._add_recipe(
            RecipeInfo(name=name, tracker=tracker, build=build, distribution=self.distribution, description=description)
        )


def _plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(TrackerzooHookSpecs)
    return manager


def _entry_point_plugins() -> list[tuple[ModuleType, str, str]]:
    """Import every ``trackerzoo`` entry point; warn about (and skip) those that fail."""
    plugins = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist is not None else "<unknown>"
        try:
            module = entry_point.load()
        except Exception as exc:  # a broken plugin must not take the others down
            warnings.warn(
                f"trackerzoo plugin {entry_point.name!r} from distribution {distribution!r} "
                f"failed to import and was skipped: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        plugins.append((module, entry_point.name, distribution))
    return plugins


def load_registry(
    plugins: Iterable[tuple[object, str]] = (),
    *,
    autoload: bool | None = None,
) -> Registry:
    """Build a registry from entry points (unless disabled) plus explicit ``(plugin, distribution)`` pairs."""
    if autoload is None:
        autoload = os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes")
    manager = _plugin_manager()
    distributions: dict[int, str] = {}
    found = _entry_point_plugins() if autoload else []
    for module, name, distribution in found:
        if manager.is_registered(module):
            continue
        manager.register(module, name=f"{distribution}:{name}")
        distributions[id(module)] = distribution
    for plugin, distribution in plugins:
        manager.register(plugin, name=f"{distribution}:{getattr(plugin, '__name__', id(plugin))}")
        distributions[id(plugin)] = distribution
    registry = Registry()
    # Call each implementation with a scope bound to its own distribution, in
    # registration order, so that provenance and duplicate reports are exact.
    for hook_name in ("trackerzoo_register_trackers", "trackerzoo_register_recipes"):
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            impl.function(registry=registry.scope(distributions.get(id(impl.plugin), "<unknown>")))
    return registry


_default_registry: Registry | None = None
_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _default_registry
    with _lock:
        if _default_registry is None:
            _default_registry = load_registry()
        return _default_registry


def reset_default_registry() -> None:
    """Forget the process-wide registry (tests; after installing a plugin at run time)."""
    global _default_registry
    with _lock:
        _default_registry = None
