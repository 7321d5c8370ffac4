"""The two entry points of the library: ``list_trackers`` and ``create``."""

from __future__ import annotations

import dataclasses
from typing import Any

from trackerzoo.device import resolve_device
from trackerzoo.registry import TrackerInfo, default_registry
from trackerzoo.tracker import Tracker


def list_trackers() -> list[TrackerInfo]:
    """All trackers provided by the installed plugins, sorted by name."""
    registry = default_registry()
    return [registry.trackers[name] for name in sorted(registry.trackers)]


def build_params(params_type: type, overrides: dict[str, Any], tracker_name: str) -> Any:
    """Instantiate a tracker's parameter dataclass with ``overrides``, rejecting unknown names."""
    valid = [field.name for field in dataclasses.fields(params_type)] if dataclasses.is_dataclass(params_type) else []
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        listing = ", ".join(valid) if valid else "(this tracker takes no parameters)"
        raise ValueError(f"unknown parameter(s) {unknown} for tracker {tracker_name!r}; valid parameters: {listing}")
    return params_type(**overrides)


def create(
    name: str,
    *,
    variant: str | None = None,
    weights: str | None = "default",
    device: str = "auto",
    **params: Any,
) -> Tracker:
    """Build a ready-to-use tracker.

    ``variant`` picks one of the tracker's variants (its default when ``None``);
    ``weights`` is ``"default"`` (the shipped file of that variant), a path to a
    safetensors file, or ``None`` (random initialisation, for training); ``params``
    override fields of the tracker's parameter dataclass.
    """
    info = default_registry().get(name)
    if variant is None:
        variant = info.default_variant
    elif variant not in info.variants:
        raise ValueError(f"unknown variant {variant!r} for tracker {name!r}; variants: {', '.join(info.variants)}")
    params_type = getattr(info.factory, "Params", None)
    built_params = build_params(params_type, params, name) if params_type is not None else None
    supported = getattr(info.factory, "supported_devices", ("cpu", "cuda"))
    if device == "auto" and "cuda" not in supported:
        device = "cpu"
    resolved = resolve_device(device)
    if resolved.type not in supported:
        raise ValueError(f"tracker {name!r} runs on {', '.join(supported)} only; got device={device!r}")
    return info.factory(built_params, variant=variant, weights=weights, device=resolved)
