"""The entry points of the library: ``list_trackers``, ``create`` and ``create_batch``."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from trackerzoo.batch import BatchTracker, LoopBatchTracker, check_batch_size
from trackerzoo.device import resolve_device
from trackerzoo.params import validate_params
from trackerzoo.registry import TrackerInfo, default_registry
from trackerzoo.threads import apply_threads, validate_threads
from trackerzoo.tracker import Tracker


def list_trackers() -> list[TrackerInfo]:
    """All trackers provided by the installed plugins, sorted by name."""
    registry = default_registry()
    return [registry.trackers[name] for name in sorted(registry.trackers)]


def build_params(params_type: type, overrides: dict[str, Any], tracker_name: str) -> Any:
    """Instantiate a tracker's parameter dataclass with ``overrides`` and check every declared field.

    Raises ``ValueError`` for an unknown name (listing the valid ones) and for a value
    outside its declaration (``trackerzoo.params``: type, NaN/inf, range, choices,
    relations), naming the parameter, the value and what is valid.
    """
    valid = [field.name for field in dataclasses.fields(params_type)] if dataclasses.is_dataclass(params_type) else []
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        listing = ", ".join(valid) if valid else "(this tracker takes no parameters)"
        raise ValueError(f"unknown parameter(s) {unknown} for tracker {tracker_name!r}; valid parameters: {listing}")
    try:
        params = params_type(**overrides)
    except TypeError as exc:  # a hand-written __post_init__ doing arithmetic on a bad value
        raise ValueError(f"tracker {tracker_name!r}: bad parameter value(s) {overrides!r}: {exc}") from None
    validate_params(params, tracker_name)
    return params


def tracker_class(spec: str | type) -> type[Tracker]:
    """The ``Tracker`` subclass named by ``spec``: the class itself or ``"module:Class"``.

    ``"module:Class"`` imports ``module`` (it must be on ``sys.path``) and takes its
    attribute ``Class``; this is how tests and one-off experiments run a tracker that no
    plugin registers. Raises ``ValueError`` naming ``spec`` when the text has no
    ``module:Class`` form, the import or attribute lookup fails, or the object is not a
    ``Tracker`` subclass.
    """
    if isinstance(spec, str):
        module_name, _, class_name = spec.partition(":")
        if not module_name or not class_name:
            raise ValueError(f"tracker {spec!r}: expected a registered name or 'module:Class'")
        try:
            factory = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            raise ValueError(f"tracker {spec!r}: cannot import {class_name!r} from {module_name!r}") from None
    else:
        factory = spec
    if not (isinstance(factory, type) and issubclass(factory, Tracker)):
        raise ValueError(f"tracker {spec!r} is not a trackerzoo.Tracker subclass")
    return factory


def create(
    name: str | type[Tracker],
    *,
    variant: str | None = None,
    weights: str | None = "default",
    device: str = "auto",
    threads: int | str | None = None,
    long_term: bool | str | dict[str, Any] = False,
    **params: Any,
) -> Tracker:
    """Build a ready-to-use tracker; the one builder of the library (the runner uses it too).

    ``name`` is a registered tracker name (see ``list_trackers``), or an unregistered
    ``Tracker`` subclass given as the class or as ``"module:Class"`` (see
    ``tracker_class``); such a class has no variant list, so ``variant`` is passed on
    unchecked. ``variant`` picks one of a registered tracker's variants (its default
    when ``None``); ``weights`` is ``"default"`` (the shipped file of that variant), a
    path to a safetensors file, or ``None`` (random initialisation, for training);
    ``params`` override fields of the tracker's parameter dataclass; ``device`` is
    ``"auto"`` (CUDA when present and in the tracker's ``supported_devices``), ``"cpu"``,
    ``"cuda"`` or ``"cuda:N"``. ``threads`` sets torch's intra-op thread count (process-wide,
    see ``trackerzoo.threads``): ``None`` (default) leaves torch's count alone, so results do
    not depend on the machine's load (torch's sums depend on the thread count); ``"auto"``
    takes the free cores (CPU affinity minus the load of other processes), never more than
    torch uses now; an integer is used as given. ``long_term`` (default False: the tracker
    as it is, short-term) wraps the tracker in ``trackerzoo.longterm.LongTermTracker``
    (presence, re-detection, verified re-acquisition) when True, ``"true"`` (as ``--set
    long_term=true`` gives it) or a dict of ``LongTermParams`` overrides.

    Raises ``TrackerNotFoundError`` for an unknown registered name and ``ValueError``
    for an unknown variant or parameter, a bad ``threads`` value, a device the tracker does not support, a
    ``module:Class`` that cannot be imported or is no ``Tracker``, a bad ``long_term`` value, or
    ``long_term`` for a tracker without a long-term mode.
    """
    threads = validate_threads(threads)
    long_term_overrides = _long_term_overrides(long_term)
    if isinstance(name, str) and ":" not in name:
        info = default_registry().get(name)
        factory: Any = info.factory
        if variant is None:
            variant = info.default_variant
        elif variant not in info.variants:
            raise ValueError(f"unknown variant {variant!r} for tracker {name!r}; variants: {', '.join(info.variants)}")
        label = name
    else:
        factory = tracker_class(name)
        label = name if isinstance(name, str) else f"{factory.__module__}:{factory.__qualname__}"
    params_type = getattr(factory, "Params", None)
    built_params = build_params(params_type, params, label) if params_type is not None else None
    supported = getattr(factory, "supported_devices", ("cpu", "cuda"))
    if device == "auto" and "cuda" not in supported:
        device = "cpu"
    resolved = resolve_device(device)
    if resolved.type not in supported:
        raise ValueError(f"tracker {label!r} runs on {', '.join(supported)} only; got device={device!r}")
    apply_threads(threads)
    tracker = factory(built_params, variant=variant, weights=weights, device=resolved)
    if long_term_overrides is None:
        return tracker
    from trackerzoo.longterm import make_long_term

    return make_long_term(tracker, long_term_overrides)


def _long_term_overrides(long_term: Any) -> dict[str, Any] | None:
    """``create``'s ``long_term``: None for short-term, else the ``LongTermParams`` overrides."""
    if isinstance(long_term, str):
        text = long_term.strip().lower()
        if text not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"long_term must be true or false, got {long_term!r}")
        long_term = text in ("true", "1", "yes")
    if isinstance(long_term, dict):
        return dict(long_term)
    if isinstance(long_term, (bool, int)) and long_term in (0, 1):
        return {} if long_term else None
    raise ValueError(f"long_term must be a bool or a dict of long-term parameters, got {long_term!r}")


def create_batch(
    name: str | type[Tracker],
    n: int,
    *,
    variant: str | None = None,
    weights: str | None = "default",
    device: str = "auto",
    native: bool = True,
    **params: Any,
) -> BatchTracker:
    """A tracker over ``n`` independent sequences advanced in lockstep (``trackerzoo.batch.BatchTracker``).

    ``name``, ``variant``, ``weights``, ``device`` and ``params`` mean what they mean for
    ``create``; every slot uses the same tracker, parameters and device. A registered
    tracker with a ``batch_factory`` (its native batched implementation, e.g. CRACT's one
    backbone call per step) gets that when ``native`` is true; otherwise, and for
    unregistered ``Tracker`` classes and long-term mode (``long_term`` in ``params``), ``n``
    trackers built by ``create`` run in a loop (``LoopBatchTracker``). Both give the results of ``n`` separate trackers.

    Raises ``ValueError`` for ``n`` that is not an integer >= 1, a ``batch_factory`` that
    returns no ``BatchTracker`` of ``n`` slots, and everything ``create`` raises.
    """
    n = check_batch_size(n)
    if _long_term_overrides(params.get("long_term", False)) is not None:
        native = False  # the long-term state machine runs per tracker
    prototype = create(name, variant=variant, weights=weights, device=device, **params)
    batch_factory = None
    if native and isinstance(name, str) and ":" not in name:
        batch_factory = default_registry().get(name).batch_factory
    if batch_factory is None:
        others = [create(name, variant=variant, weights=weights, device=device, **params) for _ in range(n - 1)]
        return LoopBatchTracker([prototype, *others])
    batch = batch_factory(prototype, n)
    if not isinstance(batch, BatchTracker) or batch.n != n:
        raise ValueError(f"batch_factory of tracker {name!r} returned {batch!r}, not a BatchTracker of {n} slots")
    return batch
