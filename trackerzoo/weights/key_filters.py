"""Generic helpers for checkpoint filters: key renaming that any tracker plugin can call.

A checkpoint filter is ``filter(state_dict, model) -> state_dict`` (timm's
``checkpoint_filter_fn`` idea): it maps an official checkpoint's key names to the
plugin's module names. Each plugin declares its own beside its model and registers it
through the ``trackerzoo_register_checkpoint_filters`` hook; core knows no tracker by
name and only offers the building blocks below (and the generic ``plain`` and
``backbone`` filters of its built-in plugin, ``trackerzoo.weights.builtin_plugin``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

StateDict = dict[str, torch.Tensor]
# filter(state_dict, model) -> state_dict; model is an nn.Module or None.
CheckpointFilter = Callable[[StateDict, Any], StateDict]

# ImageNet classifier heads of torchvision-style backbones; no tracker uses them.
CLASSIFIER_HEAD_PREFIXES = ("fc.", "classifier.")


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


def drop_classifier_head(
    state_dict: Mapping[str, torch.Tensor], head_prefixes: Iterable[str] = CLASSIFIER_HEAD_PREFIXES
) -> StateDict:
    """Remove the keys of an ImageNet classifier head (``fc.``/``classifier.`` by default)."""
    prefixes = tuple(head_prefixes)
    return {key: value for key, value in state_dict.items() if not key.startswith(prefixes)}


def move_backbone(
    state_dict: Mapping[str, torch.Tensor],
    official_prefix: str,
    *,
    to: str = "backbone.",
    keep_others: bool = True,
    head_prefixes: Iterable[str] = ("fc.",),
    checkpoint: str = "the checkpoint",
) -> StateDict:
    """Rename an official checkpoint's backbone keys ``official_prefix*`` to ``to*``.

    Keys of an ImageNet head inside the backbone (``official_prefix + "fc."`` by
    default) are dropped. With ``keep_others=False`` only the backbone is kept, so
    ``to=""`` gives a state dict ready for ``trackerzoo.nn.backbones.build_backbone``.
    Raises ``ValueError`` naming ``official_prefix`` when no key carries it (the file
    is not the layout the caller expects).
    """
    if not any(key.startswith(official_prefix) for key in state_dict):
        sample = sorted(state_dict)[:5]
        raise ValueError(f"{checkpoint} has no {official_prefix!r} keys (first keys: {sample})")
    heads = tuple(official_prefix + head for head in head_prefixes)
    kept = {key: value for key, value in state_dict.items() if not (heads and key.startswith(heads))}
    return rename_prefixes(kept, {official_prefix: to}, keep_others=keep_others)


def plain_filter(state_dict: StateDict, model: Any = None) -> StateDict:
    """Keys unchanged (after the converter's generic unwrapping and ``module.`` stripping)."""
    return dict(state_dict)


def classification_backbone_filter(state_dict: StateDict, model: Any = None) -> StateDict:
    """An ImageNet classifier file (torchvision layout) -> backbone keys: ``fc.``/``classifier.`` dropped."""
    return drop_classifier_head(state_dict)
