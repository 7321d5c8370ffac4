"""Official checkpoint -> our safetensors file: read safely, keep tensors, remap keys, write.

The steps are deliberately separate so each can be tested and reused: the restricted
unpickler reads the file, ``extract_tensors`` finds the state dict inside whatever
wrapper the repo used, the checkpoint filter a plugin registered (through the
``trackerzoo_register_checkpoint_filters`` hook) renames keys to ours, and
``save_safetensors`` writes the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from trackerzoo.registry import Registry, default_registry
from trackerzoo.weights.files import apply_state_dict, save_safetensors
from trackerzoo.weights.key_filters import strip_prefix
from trackerzoo.weights.unpickler import CheckpointError, PendingTensor, Placeholder, restricted_load

# Keys under which repos wrap their state dict: pytracking/ltr ``net``, then the usual ones.
STATE_DICT_WRAPPERS = ("net", "state_dict", "model", "model_state_dict", "network")
# A pickled nn.Module is walked down its ``_modules``: real networks nest a few dozen
# levels and hold some thousands of modules; a crafted graph could nest without end or
# share children so that the walk doubles at every level.
MAX_MODULE_DEPTH = 100
MAX_MODULE_VISITS = 100_000


@dataclasses.dataclass
class ExtractedTensors:
    """The tensors found in a checkpoint and what was left behind."""

    tensors: dict[str, torch.Tensor]
    wrapper: str | None
    dropped_entries: list[str]
    placeholder_origins: list[str]
    format: str


def _module_tensors(module: Placeholder, prefix: str, out: dict[str, Any]) -> None:
    """Collect ``_parameters``/``_buffers`` of a pickled ``nn.Module`` (a placeholder), depth first.

    Raises ``CheckpointError`` beyond ``MAX_MODULE_DEPTH`` levels or ``MAX_MODULE_VISITS`` modules.
    """
    stack: list[tuple[Placeholder, str, int]] = [(module, prefix, 0)]
    visits = 0
    while stack:
        current, path, depth = stack.pop()
        visits += 1
        if depth > MAX_MODULE_DEPTH:
            raise CheckpointError(f"its pickled modules nest deeper than {MAX_MODULE_DEPTH} levels (at {path!r})")
        if visits > MAX_MODULE_VISITS:
            raise CheckpointError(f"its pickled modules hold more than {MAX_MODULE_VISITS:,} sub-modules")
        state = current.__dict__.get("placeholder_state")
        if not isinstance(state, Mapping):
            continue
        for attribute in ("_parameters", "_buffers"):
            entries = state.get(attribute) or {}
            if not isinstance(entries, Mapping):
                continue
            for name, value in entries.items():
                if value is not None:
                    out[f"{path}{name}"] = value
        children = state.get("_modules") or {}
        if isinstance(children, Mapping):
            for name, child in reversed(list(children.items())):
                if isinstance(child, Placeholder):
                    stack.append((child, f"{path}{name}.", depth + 1))


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, Placeholder):  # a whole pickled nn.Module (torch.save(model))
        found: dict[str, Any] = {}
        _module_tensors(value, "", found)
        return found or None
    return None


def extract_tensors(root: Any, *, format: str = "", placeholder_origins: Iterable[str] = ()) -> ExtractedTensors:
    """Find the state dict in an unpickled checkpoint and materialise its tensors.

    Non-tensor entries (epoch counters, optimizer state, constructor objects, ...) are
    dropped and reported; a ``module.`` prefix on every key (DataParallel) is removed.
    """
    mapping = _as_mapping(root)
    if mapping is None:
        raise ValueError(f"the checkpoint holds a {type(root).__name__}, not a state dict or a dict wrapping one")
    wrapper = None
    dropped: list[str] = []
    for key in STATE_DICT_WRAPPERS:
        inner = _as_mapping(mapping.get(key)) if key in mapping else None
        if inner is not None:
            dropped = [str(other) for other in mapping if other != key]  # epoch, constructor, optimizer, ...
            mapping, wrapper = inner, key
            break
    tensors: dict[str, torch.Tensor] = {}
    for key, value in mapping.items():
        if isinstance(key, str) and isinstance(value, PendingTensor):
            tensors[key] = value.materialize()
        else:
            dropped.append(str(key))
    if not tensors:
        raise ValueError(f"no tensors found in the checkpoint (entries: {sorted(map(str, mapping))[:10]})")
    if all(key.startswith("module.") for key in tensors):
        tensors = strip_prefix(tensors, "module.")
    return ExtractedTensors(tensors, wrapper, sorted(dropped), list(placeholder_origins), format)


def read_checkpoint(path: Path | str) -> ExtractedTensors:
    """Read a pytracking/ltr or plain PyTorch checkpoint without executing any of its code.

    Tensors viewing one storage share its memory. Raises ``FileNotFoundError`` for a
    missing file and ``ValueError`` naming the file for one that cannot be read, exceeds
    the allocation bounds of ``trackerzoo.weights.unpickler`` or holds no state dict.
    """
    loaded = restricted_load(path)
    try:
        return extract_tensors(loaded.root, format=loaded.format, placeholder_origins=loaded.placeholder_origins)
    except CheckpointError as exc:
        raise ValueError(f"{path}: refused as a PyTorch checkpoint: {exc}") from None
    except RecursionError:
        raise ValueError(f"{path}: refused as a PyTorch checkpoint: its entries nest too deeply") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


@dataclasses.dataclass
class ConversionReport:
    out: Path
    sha256: str
    tensor_count: int
    element_count: int  # all tensor elements written, BatchNorm statistics included
    wrapper: str | None
    dropped_entries: list[str]
    placeholder_origins: list[str]


def convert_checkpoint(
    checkpoint: Path | str,
    out: Path | str,
    *,
    tracker: str,
    strip_prefixes: Iterable[str] = (),
    fp16: bool = True,
    registry: Registry | None = None,
) -> ConversionReport:
    """Convert ``checkpoint`` with the checkpoint filter named ``tracker``; write ``out`` (``.safetensors``).

    The filter is looked up in ``registry`` (the process-wide plugin registry when
    ``None``). When its plugin declared a model, the model is built, handed to the
    filter as ``filter(state_dict, model)``, and the result must load into it strictly
    (a ``ValueError`` lists missing and unexpected keys). Raises ``ValueError`` for an
    unknown filter name (listing the registered ones), an output name without the
    ``.safetensors`` suffix, or a filter that keeps no tensor.
    """
    if registry is None:
        registry = default_registry()
    info = registry.get_checkpoint_filter(tracker)
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ValueError(f"output file {str(out)!r} must end in .safetensors")
    extracted = read_checkpoint(checkpoint)
    tensors = extracted.tensors
    for prefix in strip_prefixes:
        tensors = strip_prefix(tensors, prefix)
    model = info.model_factory() if info.model_factory is not None else None
    tensors = info.filter(tensors, model)
    if not tensors:
        raise ValueError(f"the {tracker!r} checkpoint filter kept no tensors of {checkpoint}")
    if model is not None:
        apply_state_dict(model, tensors, source=f"{checkpoint} after the {tracker!r} checkpoint filter")
    metadata = {
        "converted_from": Path(checkpoint).name,
        "key_filter": tracker,
        "key_filter_distribution": info.distribution,
        "checkpoint_format": extracted.format,
    }
    sha256 = save_safetensors(tensors, out, fp16=fp16, metadata=metadata)
    return ConversionReport(
        out=out,
        sha256=sha256,
        tensor_count=len(tensors),
        element_count=sum(tensor.numel() for tensor in tensors.values()),
        wrapper=extracted.wrapper,
        dropped_entries=extracted.dropped_entries,
        placeholder_origins=extracted.placeholder_origins,
    )
