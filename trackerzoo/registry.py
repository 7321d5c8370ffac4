"""Discovery of trackers, training recipes, dataset loaders and checkpoint filters.

Everything comes in through pluggy hooks (``trackerzoo.hookspecs``), as in pytest and
datasette: core registers its own built-in plugin modules (``BUILTIN_PLUGINS``), then
``PluginManager.load_setuptools_entrypoints`` loads every module named in the
``trackerzoo`` entry-point group, and ``check_pending`` rejects a hook name that no
spec knows. Which distribution a plugin came from is what pluggy recorded
(``list_plugin_distinfo``); each plugin's hooks are called with a ``RegistryScope``
bound to that distribution, so every registered item knows its provenance and a
duplicate name is reported with both distributions.

A plugin whose module fails to import does not take the others down: it is skipped
with a ``RuntimeWarning`` and listed in ``Registry.failed_plugins`` (shown by
``trackerzoo list --verbose``). Set ``TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD=1`` to skip
entry points (tests register the plugins they need explicitly with
``load_registry(plugins=[...])``); the built-in plugins are always registered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import importlib.metadata
import inspect
import os
import threading
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pluggy

from trackerzoo.errors import DuplicateTrackerError, TrackerNotFoundError
from trackerzoo.hookspecs import ENTRY_POINT_GROUP, HOOK_PREFIX, PROJECT_NAME, TrackerzooHookSpecs

AUTOLOAD_ENV = "TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD"
CORE_DISTRIBUTION = "trackerzoo"
# Core's own plugins, registered before any entry point (pytest's builtin_plugins idea).
BUILTIN_PLUGINS = ("trackerzoo.datasets.builtin_plugin", "trackerzoo.weights.builtin_plugin")
# Hooks in the order they are called; recipes may refer to trackers registered before them.
REGISTRATION_HOOKS = (
    "trackerzoo_register_trackers",
    "trackerzoo_register_recipes",
    "trackerzoo_register_dataset_loaders",
    "trackerzoo_register_checkpoint_filters",
)


class PluginHookError(ValueError):
    """A plugin implements a hook that does not exist (a misspelled name) or with wrong arguments."""


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
    rank: int = 0  # preference among installed trackers for the CLI's default (highest first)
    # ``batch_factory(prototype, n) -> trackerzoo.batch.BatchTracker``: the tracker's native batched
    # implementation (``trackerzoo.create_batch``); ``None``: n trackers in a loop.
    batch_factory: Callable[..., Any] | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class RecipeInfo:
    """A training recipe registered by a plugin (``trackerzoo train <name>``)."""

    name: str
    tracker: str
    build: Callable[..., Any] = dataclasses.field(repr=False)
    distribution: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class LoaderInfo:
    """A dataset layout: ``loader(root: Path, **options) -> Dataset`` for ``load_dataset(kind, ...)``."""

    kind: str
    loader: Callable[..., Any] = dataclasses.field(repr=False)
    distribution: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class CheckpointFilterInfo:
    """A checkpoint filter for ``trackerzoo convert --tracker NAME``.

    ``filter(state_dict, model) -> state_dict`` maps an official checkpoint's keys to
    the plugin's module names; ``model`` is ``model_factory()`` (an ``nn.Module`` the
    result must fit exactly) or ``None`` when the plugin declared no model.
    """

    name: str
    filter: Callable[..., Any] = dataclasses.field(repr=False)
    distribution: str
    model_factory: Callable[[], Any] | None = dataclasses.field(default=None, repr=False)
    description: str = ""


@dataclasses.dataclass(frozen=True)
class FailedPlugin:
    """An entry point whose module could not be imported (it registered nothing)."""

    name: str
    distribution: str
    error: str


class Registry:
    """All trackers, recipes, dataset loaders and checkpoint filters known in this process."""

    def __init__(self) -> None:
        self.trackers: dict[str, TrackerInfo] = {}
        self.recipes: dict[str, RecipeInfo] = {}
        self.loaders: dict[str, LoaderInfo] = {}
        self.checkpoint_filters: dict[str, CheckpointFilterInfo] = {}
        self.failed_plugins: list[FailedPlugin] = []

    def scope(self, distribution: str) -> RegistryScope:
        return RegistryScope(self, distribution)

    def get(self, name: str) -> TrackerInfo:
        """The tracker ``name``; ``TrackerNotFoundError`` (a ``KeyError``) listing the others if absent."""
        try:
            return self.trackers[name]
        except KeyError:
            raise TrackerNotFoundError(name, list(self.trackers)) from None

    def get_loader(self, kind: str) -> LoaderInfo:
        """The dataset loader of ``kind`` (case-insensitive); ``ValueError`` listing the known kinds."""
        try:
            return self.loaders[kind.lower()]
        except KeyError:
            raise ValueError(f"unknown dataset kind {kind!r}; known kinds: {', '.join(sorted(self.loaders))}") from None

    def get_checkpoint_filter(self, name: str) -> CheckpointFilterInfo:
        """The checkpoint filter ``name``; ``ValueError`` listing the registered ones."""
        try:
            return self.checkpoint_filters[name]
        except KeyError:
            raise ValueError(
                f"no checkpoint filter for tracker {name!r}; available: {sorted(self.checkpoint_filters)} "
                "(plugins register theirs through the trackerzoo_register_checkpoint_filters hook)"
            ) from None

    def _add(self, table: dict[str, Any], what: str, key: str, info: Any) -> None:
        existing = table.get(key)
        if existing is not None:
            raise DuplicateTrackerError(
                f"{what} name {key!r} is registered twice: by distribution "
                f"{existing.distribution!r} and by distribution {info.distribution!r}"
            )
        table[key] = info


def _require_name(what: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a {what} needs a non-empty string name, got {name!r}")
    return name


def _require_callable(what: str, name: str, value: object) -> None:
    if not callable(value):
        raise ValueError(f"{what} {name!r} must be callable, got {type(value).__name__}")


class RegistryScope:
    """The registry as one plugin distribution sees it inside its hooks."""

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
        rank: int = 0,
        batch_factory: Callable[..., Any] | None = None,
    ) -> None:
        """Register tracker ``name`` built by ``factory(params, variant=, weights=, device=)``.

        ``default_variant`` (the first variant when ``None``) is the single place that
        states a tracker's default variant. ``rank`` orders the installed trackers when a
        command picks one by default (``trackerzoo demo``/``track``: the highest-ranked
        tracker whose weights are present); give a paper tracker with trained weights a
        higher rank than a classic baseline. ``batch_factory(prototype, n)``, when given,
        builds the tracker's native ``trackerzoo.batch.BatchTracker`` over ``n`` sequences
        from ``prototype``, one tracker made by ``trackerzoo.create`` (its parameters,
        variant, weights and device); ``trackerzoo.create_batch`` calls it, and falls back
        to ``n`` trackers in a loop without it. Raises ``ValueError`` for outputs other than
        ``{"box"}``/``{"box", "mask"}``, no variants or a default outside them, a
        ``batch_factory`` that is not callable, and ``DuplicateTrackerError`` when the name
        is taken.
        """
        _require_name("tracker", name)
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise ValueError(f"rank of tracker {name!r} must be an integer, got {rank!r}")
        _require_callable("tracker factory of", name, factory)
        if batch_factory is not None:
            _require_callable("batch factory of tracker", name, batch_factory)
        outputs = frozenset(outputs)
        if not outputs or not outputs <= {"box", "mask"} or "box" not in outputs:
            raise ValueError(f"outputs of {name!r} must be {{'box'}} or {{'box', 'mask'}}, got {set(outputs)}")
        variants = tuple(variants)
        if not variants:
            raise ValueError(f"tracker {name!r} needs at least one variant")
        default_variant = default_variant or variants[0]
        if default_variant not in variants:
            raise ValueError(f"default variant {default_variant!r} of {name!r} is not among {variants}")
        info = TrackerInfo(
            name=name,
            factory=factory,
            outputs=outputs,
            paper=paper,
            variants=variants,
            default_variant=default_variant,
            distribution=self.distribution,
            description=description,
            rank=rank,
            batch_factory=batch_factory,
        )
        self._registry._add(self._registry.trackers, "tracker", name, info)

    def add_recipe(self, name: str, build: Callable[..., Any], *, tracker: str, description: str = "") -> None:
        """Register training recipe ``name`` (``build(overrides) -> recipe object``)."""
        _require_name("recipe", name)
        _require_callable("recipe builder of", name, build)
        info = RecipeInfo(name=name, tracker=tracker, build=build, distribution=self.distribution,
                          description=description)
        self._registry._add(self._registry.recipes, "recipe", name, info)

    def add_loader(self, kind: str, loader: Callable[..., Any], *, description: str = "") -> None:
        """Register dataset layout ``kind`` (case-insensitive): ``loader(root: Path, **options) -> Dataset``.

        Registering the same loader object for a kind again is a no-op; a different
        loader for a taken kind is a ``ValueError`` naming the kind and both owners.
        """
        key = _require_name("dataset kind", kind).lower()
        _require_callable("loader of dataset kind", kind, loader)
        existing = self._registry.loaders.get(key)
        if existing is not None:
            if existing.loader is loader:
                return
            raise ValueError(
                f"dataset kind {kind!r} is already registered by distribution {existing.distribution!r} "
                f"({getattr(existing.loader, '__module__', '?')}); {self.distribution!r} cannot register it again"
            )
        self._registry.loaders[key] = LoaderInfo(key, loader, self.distribution, description)

    def add_checkpoint_filter(
        self,
        name: str,
        checkpoint_filter: Callable[..., Any],
        *,
        model: Callable[[], Any] | None = None,
        description: str = "",
    ) -> None:
        """Register ``checkpoint_filter(state_dict, model) -> state_dict`` under ``name``.

        ``model``, when given, is a zero-argument factory of the ``nn.Module`` the
        filtered state dict must load into strictly; the converter builds it, passes it
        to the filter and checks the result against it.
        """
        _require_name("checkpoint filter", name)
        _require_callable("checkpoint filter", name, checkpoint_filter)
        if model is not None:
            _require_callable("model factory of checkpoint filter", name, model)
        info = CheckpointFilterInfo(name, checkpoint_filter, self.distribution, model, description)
        self._registry._add(self._registry.checkpoint_filters, "checkpoint filter", name, info)


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager; an undecorated ``trackerzoo_*`` function also counts as a hook (as pytest's ``pytest_*``).

    So a misspelled hook is caught by ``check_pending`` whether or not it carries
    ``@trackerzoo.hookimpl``.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        options = super().parse_hookimpl_opts(plugin, name)
        if options is not None or not name.startswith(HOOK_PREFIX):
            return options
        if not inspect.isroutine(getattr(plugin, name, None)):
            return None
        return pluggy.HookimplOpts(
            wrapper=False, hookwrapper=False, optionalhook=False, tryfirst=False, trylast=False, specname=None
        )


def plugin_manager() -> pluggy.PluginManager:
    """A fresh manager knowing trackerzoo's hook specifications (no plugin registered)."""
    manager = _PluginManager(PROJECT_NAME)
    manager.add_hookspecs(TrackerzooHookSpecs)
    return manager


def _describe(manager: pluggy.PluginManager, plugin: object) -> str:
    return manager.get_name(plugin) or getattr(plugin, "__name__", repr(plugin))


def _hook_error(manager: pluggy.PluginManager, error: pluggy.PluginValidationError,
                distributions: dict[int, str]) -> PluginHookError:
    """Reword pluggy's validation error: which plugin, which distribution, which hook, what was meant."""
    plugin = error.plugin
    known = sorted(name for name in dir(TrackerzooHookSpecs) if name.startswith(HOOK_PREFIX))
    unknown = sorted(
        name for name in dir(plugin)
        if name.startswith(HOOK_PREFIX) and name not in known and inspect.isroutine(getattr(plugin, name, None))
    )
    detail = " ".join(str(error).split())
    if unknown:
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(name, known, n=1))
            else repr(name)
            for name in unknown
        ]
        detail = f"unknown hook {', '.join(hints)}"
    distribution = distributions.get(id(plugin), "<unknown>")
    return PluginHookError(
        f"plugin {_describe(manager, plugin)!r} from distribution {distribution!r}: {detail}; "
        f"the hooks are {', '.join(known)}"
    )


def _block_unimportable_entry_points(manager: pluggy.PluginManager) -> list[FailedPlugin]:
    """Import each entry point once; warn about, block (and return) those that fail.

    pluggy's ``load_setuptools_entrypoints`` raises at the first broken plugin and skips
    blocked names, so blocking the broken ones first keeps the others loading.
    """
    failed = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if manager.has_plugin(entry_point.name) or manager.is_blocked(entry_point.name):
            continue
        try:
            entry_point.load()
        except Exception as exc:  # a broken plugin must not take the others down
            distribution = entry_point.dist.name if entry_point.dist is not None else "<unknown>"
            error = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"trackerzoo plugin {entry_point.name!r} from distribution {distribution!r} "
                f"failed to import and was skipped: {error}",
                RuntimeWarning,
                stacklevel=3,
            )
            manager.set_blocked(entry_point.name)
            failed.append(FailedPlugin(entry_point.name, distribution, error))
    return failed


def _call_hooks(manager: pluggy.PluginManager, registry: Registry, distributions: dict[int, str]) -> None:
    """Call every registration hook plugin by plugin, in registration order, with that plugin's scope."""
    plugins = [plugin for _name, plugin in manager.list_name_plugin() if plugin is not None]
    for hook_name in REGISTRATION_HOOKS:
        for plugin in plugins:
            implemented = {caller.name for caller in manager.get_hookcallers(plugin) or []}
            if hook_name not in implemented:
                continue
            others = [other for other in plugins if other is not plugin]
            scope = registry.scope(distributions.get(id(plugin), "<unknown>"))
            manager.subset_hook_caller(hook_name, remove_plugins=others)(registry=scope)


def _hashable(plugin: object) -> object:
    """``plugin`` itself, or a module holding its attributes when it cannot be hashed.

    pluggy keeps plugins in sets; a namespace object such as ``types.SimpleNamespace``
    is not hashable, so it is registered through a module with the same attributes.
    """
    try:
        hash(plugin)
    except TypeError:
        proxy = types.ModuleType(f"{type(plugin).__name__}_plugin")
        proxy.__dict__.update(vars(plugin))
        return proxy
    return plugin


def load_registry(
    plugins: Iterable[tuple[object, str]] = (),
    *,
    autoload: bool | None = None,
) -> Registry:
    """Build a registry: built-in plugins, entry points (unless disabled), then explicit plugins.

    ``plugins`` are ``(module_or_object, distribution)`` pairs. ``autoload=None``
    follows ``$TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD``. Raises ``PluginHookError`` (a
    ``ValueError``) for a plugin implementing an unknown hook, naming the hook, and
    ``DuplicateTrackerError`` for a name registered twice, naming both distributions.
    """
    if autoload is None:
        autoload = os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes")
    manager = plugin_manager()
    registry = Registry()
    distributions: dict[int, str] = {}

    def register(plugin: object, name: str, distribution: str) -> None:
        distributions[id(plugin)] = distribution
        try:
            manager.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise _hook_error(manager, exc, distributions) from exc

    for module_name in BUILTIN_PLUGINS:
        register(importlib.import_module(module_name), module_name, CORE_DISTRIBUTION)
    if autoload:
        registry.failed_plugins.extend(_block_unimportable_entry_points(manager))
        try:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except pluggy.PluginValidationError as exc:
            for plugin, dist in manager.list_plugin_distinfo():
                distributions[id(plugin)] = dist.project_name
            raise _hook_error(manager, exc, distributions) from exc
        for plugin, dist in manager.list_plugin_distinfo():
            distributions[id(plugin)] = dist.project_name
    for plugin, distribution in plugins:
        plugin = _hashable(plugin)
        if manager.is_registered(plugin):
            continue
        register(plugin, f"{distribution}:{getattr(plugin, '__name__', id(plugin))}", distribution)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _hook_error(manager, exc, distributions) from exc
    _call_hooks(manager, registry, distributions)
    return registry


_default_registry: Registry | None = None
_lock = threading.RLock()


def default_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _default_registry
    with _lock:
        if _default_registry is None:
            _default_registry = load_registry()
        return _default_registry


@contextlib.contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the process-wide one inside a ``with`` block, then restore the previous one.

    ``trackerzoo.create``, ``list_trackers``, ``load_dataset``, ``trackerzoo convert`` and the
    CLI all read the process-wide registry; this is how to run them on a registry built with
    ``load_registry([(plugin_module, "my-dist")], autoload=False)`` (a plugin not installed
    yet, tests)::

        with use_registry(load_registry([(my_plugin, "my-dist")], autoload=False)):
            tracker = trackerzoo.create("mytracker")
    """
    global _default_registry
    with _lock:
        previous = _default_registry
        _default_registry = registry
    try:
        yield registry
    finally:
        with _lock:
            _default_registry = previous


def reset_default_registry() -> None:
    """Forget the process-wide registry (tests; after installing a plugin at run time)."""
    global _default_registry
    with _lock:
        _default_registry = None
