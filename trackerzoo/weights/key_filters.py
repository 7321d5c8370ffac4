"""Per-tracker key filters: official checkpoint key names -> our module names.

A filter is a plain function ``state_dict -> state_dict`` (timm calls the same idea
``checkpoint_filter_fn``). They live in a registry by name so that ``trackerzoo
convert --tracker NAME`` can find them and each plugin can register the filter for
its own module layout (``register_key_filter("rts", fn, replace=True)`` at import of
the plugin) without this module knowing the plugins.

The built-in filters cover what exists here, the backbones. ``rts``, ``rpvt`` (D3S
layout) and ``arn`` (OceanPlus layout) rename the official backbone prefix to
``backbone.`` and pass all other keys through unchanged; ``*-backbone`` variants keep
only the backbone, ready for ``build_backbone(...)`` (see ``BACKBONE_LAYOUTS`` for the
options each official backbone needs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

StateDict = dict[str, torch.Tensor]
KeyFilter = Callable[[StateDict], StateDict]

_FILTERS: dict[str, KeyFilter] = {}

# How each official backbone must be built to take its checkpoint strictly.
BACKBONE_LAYOUTS: dict[str, dict[str, object]] = {
    "rts": {"name": "resnet50", "style": "mrcnn", "dilated": False},
    "rpvt": {"name": "resnet50", "style": "torchvision", "dilated": False},
    "arn": {"name": "resnet50", "style": "pysot", "dilated": True},
}
OFFICIAL_BACKBONE_PREFIXES: dict[str, str] = {
    "rts": "feature_extractor.",  # pytracking rts50.pth
    "rpvt": "feature_extractor.",  # D3S SegmNet.pth.tar
    "arn": "features.features.",  # TracKit OceanPlus
}
CLASSIFIER_HEAD_PREFIXES = ("fc.", "classifier.")


def register_key_filter(name: str, key_filter: KeyFilter, *, replace: bool = False) -> None:
    """Register ``key_filter`` under ``name``; ``replace=True`` overrides an existing one."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a key filter needs a non-empty name, got {name!r}")
    if not callable(key_filter):
        raise ValueError(f"key filter {name!r} must be callable, got {type(key_filter).__name__}")
    if name in _FILTERS and not replace:
        raise ValueError(f"a key filter named {name!r} is already registered (pass replace=True to override)")
    _FILTERS[name] = key_filter


def get_key_filter(name: str) -> KeyFilter:
    try:
        return _FILTERS[name]
    except KeyError:
        raise ValueError(f"no key filter for tracker {name!r}; available: {available_key_filters()}") from None


def available_key_filters() -> list[str]:
    return sorted(_FILTERS)


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str) -> StateDict:
    """Remove ``prefix`` from the keys that start with it; other keys stay as they are."""
    return {key[len(prefix) :] if key.startswith(prefix) else key: value for key, value in state_dict.items()}


def rename_prefixes(
    state_dict: Mapping[str, torch.Tensor], renames: Mapping[str, str], *, keep_others: bool = True
) -> StateDict:
    """Replace key prefixes (first matching rename wins); drop unmatched keys unless ``keep_others``."""
    renamed: StateDict = {}
    for key, value in state_dict.items():
        for old, new in renames.items():
            if key.startswith(old):
                renamed[new + key[len(old) :]] = value
                break
        else:
            if keep_others:
                renamed[key] = value
    return renamed


def _require_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str, tracker: str) -> None:
    if not any(key.startswith(prefix) for key in state_dict):
        sample = sorted(state_dict)[:5]
        raise ValueError(
            f"checkpoint has no {prefix!r} keys, so it is not an official {tracker} checkpoint (first keys: {sample})"
        )


def _official_filter(tracker: str, *, backbone_only: bool) -> KeyFilter:
    prefix = OFFICIAL_BACKBONE_PREFIXES[tracker]

    def key_filter(state_dict: StateDict) -> StateDict:
        _require_prefix(state_dict, prefix, tracker)
        # pytracking's ResNet carries an unused ImageNet ``fc`` head; no tracker uses it.
        state_dict = {key: value for key, value in state_dict.items() if not key.startswith(f"{prefix}fc.")}
        if backbone_only:
            return rename_prefixes(state_dict, {prefix: ""}, keep_others=False)
        return rename_prefixes(state_dict, {prefix: "backbone."})

    key_filter.__doc__ = (
        f"Official {tracker} layout: {prefix}* -> "
        + ("the bare backbone (other keys dropped)." if backbone_only else "backbone.*, other keys unchanged.")
        + " An ImageNet fc head in the backbone is dropped."
    )
    return key_filter


def _plain(state_dict: StateDict) -> StateDict:
    """Keys unchanged (after the generic unwrapping and ``module.`` stripping)."""
    return dict(state_dict)


def _classification_backbone(state_dict: StateDict) -> StateDict:
    """An ImageNet classifier file (torchvision layout) -> backbone keys: drop ``fc.``/``classifier.``."""
    return {key: value for key, value in state_dict.items() if not key.startswith(CLASSIFIER_HEAD_PREFIXES)}


register_key_filter("plain", _plain)
register_key_filter("backbone", _classification_backbone)
for _tracker in OFFICIAL_BACKBONE_PREFIXES:
    register_key_filter(_tracker, _official_filter(_tracker, backbone_only=False))
    register_key_filter(f"{_tracker}-backbone", _official_filter(_tracker, backbone_only=True))
