"""Reading and writing weight files: safetensors, checked by sha256 and by exact keys.

safetensors holds nothing but named tensors, so loading one can never run code, unlike
the pickled checkpoints tracking repos ship. Files are stored in fp16 by default (half
the download, no measurable change in tracking) and cast back to the dtype of the
module they are loaded into.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.weights.manifest import ManifestEntry, read_manifest, weights_dir

# Counters that BatchNorm only needs when momentum is None; checkpoints written by
# torch < 0.4.1 lack them, and their absence changes no output, so they may be missing.
OPTIONAL_KEY_SUFFIXES = ("num_batches_tracked",)


class ChecksumMismatchError(ValueError):
    """A weight file's sha256 differs from the one the manifest records."""


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fp16_without_overflow(tensor: torch.Tensor) -> torch.Tensor:
    """Cast a float tensor to fp16 unless a finite value would become infinite."""
    half = tensor.to(torch.float16)
    if bool(torch.isinf(half).any()) and not bool(torch.isinf(tensor).any()):
        return tensor.to(torch.float32)
    return half


def save_safetensors(
    state_dict: Mapping[str, torch.Tensor],
    path: Path | str,
    *,
    fp16: bool = True,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """Write ``state_dict`` to ``path`` and return the file's sha256.

    With ``fp16`` every floating tensor is stored as float16, except one whose values
    would overflow fp16 (kept as float32 rather than turned into inf). Integer tensors
    (e.g. BatchNorm counters) keep their dtype. Tensors are copied to contiguous CPU
    memory, which also breaks the storage sharing safetensors refuses to write.
    """
    if not isinstance(state_dict, Mapping):
        raise ValueError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise ValueError(f"state_dict keys must be strings, got {key!r}")
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"state_dict[{key!r}] is a {type(value).__name__}, not a tensor")
        tensor = value.detach().to("cpu")
        if fp16 and tensor.is_floating_point() and tensor.dtype != torch.float16:
            tensor = _fp16_without_overflow(tensor)
        tensors[key] = tensor.contiguous().clone()
    meta = dict(metadata or {})
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"metadata must map strings to strings, got {key!r}: {value!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta or None)
    return sha256_file(path)


def _unreadable(path: Path | str, exc: Exception) -> ValueError:
    return ValueError(f"weights file {str(path)!r} is not a readable safetensors file (corrupt, truncated or "
                      f"another format): {exc}")


def read_metadata(path: Path | str) -> dict[str, str]:
    """The string metadata stored in a safetensors header; ``ValueError`` naming a file that is none."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def _listed_entry_for(path: Path, entries: list[ManifestEntry], folder: Path) -> ManifestEntry | None:
    resolved = path.resolve()
    for entry in entries:
        if (folder / entry.file).resolve() == resolved:
            return entry
    return None


def _missing_file_message(entry: ManifestEntry, path: Path) -> str:
    how = entry.source or (
        f"train it with `trackerzoo train` (tracker {entry.tracker!r}, variant {entry.variant!r})"
        if entry.tracker
        else "re-create it with the script that produced it"
    )
    return (
        f"weights {entry.name!r} are listed in the manifest but {path} does not exist. "
        f"To obtain them: {how}. A git checkout of trackerzoo contains the shipped files under weights/."
    )


def resolve_weights(name_or_path: str | Path) -> tuple[Path, ManifestEntry | None]:
    """Find the file for a manifest name or a path, and its manifest entry if listed."""
    folder = weights_dir()
    entries = read_manifest()
    if isinstance(name_or_path, str):
        for entry in entries:
            if entry.name == name_or_path:
                path = folder / entry.file
                if not path.is_file():
                    raise WeightsNotFoundError(_missing_file_message(entry, path))
                return path, entry
    path = Path(name_or_path)
    if not path.is_file() and isinstance(name_or_path, str) and not path.suffix:
        unlisted = folder / f"{name_or_path}.safetensors"  # a file put into weights/ by hand
        if unlisted.is_file():
            path = unlisted
    if not path.is_file():
        known = ", ".join(sorted(entry.name for entry in entries)) or "(none)"
        raise WeightsNotFoundError(
            f"no weights named {str(name_or_path)!r}: it is neither a file nor a name in {folder / 'manifest.json'} "
            f"(known names: {known}). Convert an official checkpoint with `trackerzoo convert CHECKPOINT "
            f"--tracker NAME --out FILE`, or train one with `trackerzoo train`."
        )
    return path, _listed_entry_for(path, entries, folder)


def load_state_dict(name_or_path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a weight file, given a manifest name or a path.

    When the file is listed in the manifest its sha256 must match; tensors come back in
    the dtype they were stored in (usually fp16). A file that is not a valid safetensors
    file (corrupt, truncated, a pickled checkpoint renamed) is a ``ValueError`` naming it.
    """
    path, entry = resolve_weights(name_or_path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path} is not a .safetensors file; convert checkpoints with `trackerzoo convert` first")
    if entry is not None:
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise ChecksumMismatchError(
                f"checksum mismatch for weights {entry.name!r} ({path}): the manifest records sha256 "
                f"{entry.sha256}, the file has {actual}; the file is corrupt or was replaced"
            )
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def _dtype_problem(key: str, value: torch.Tensor, target: torch.Tensor) -> str | None:
    """Why ``value`` cannot stand for the module tensor ``target`` (None when it can).

    Floating module tensors need floating values (an int8 tensor of the right shape is
    not weights for a float layer); integer and bool buffers need the same kind.
    """
    if target.is_floating_point() != value.is_floating_point():
        return f"{key}: file {value.dtype} vs module {target.dtype}"
    if target.is_complex() != value.is_complex() or (target.dtype == torch.bool) != (value.dtype == torch.bool):
        return f"{key}: file {value.dtype} vs module {target.dtype}"
    return None


def _non_finite(value: torch.Tensor) -> int:
    """Number of NaN or infinite values of a floating tensor (0 for other dtypes)."""
    if not (value.is_floating_point() or value.is_complex()):
        return 0
    return int((~torch.isfinite(value)).sum())


def apply_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], *, source: str = "state dict") -> None:
    """Load ``state_dict`` into ``module`` with exact keys and shapes (strict).

    Every mismatch is reported at once (missing keys, unexpected keys, wrong shapes,
    wrong dtype kinds, NaN or infinite values) in a ValueError, so a converter or a
    layout option can be fixed in one round. Floating tensors are cast to the dtype and
    device of the parameter they replace; a floating module tensor needs a floating one
    in the file (an int8 tensor of the right shape is refused, not silently cast).
    """
    own = module.state_dict()
    missing = sorted(key for key in own if key not in state_dict and not key.endswith(OPTIONAL_KEY_SUFFIXES))
    unexpected = sorted(key for key in state_dict if key not in own)
    wrong_shape = sorted(
        f"{key}: file {tuple(state_dict[key].shape)} vs module {tuple(own[key].shape)}"
        for key in state_dict
        if key in own and tuple(state_dict[key].shape) != tuple(own[key].shape)
    )
    wrong_dtype = sorted(problem for key in state_dict if key in own
                         for problem in [_dtype_problem(key, state_dict[key], own[key])] if problem)
    non_finite = sorted(f"{key} ({count} of {state_dict[key].numel()})" for key in state_dict
                        for count in [_non_finite(state_dict[key])] if count)
    if missing or unexpected or wrong_shape or wrong_dtype or non_finite:
        parts = [f"weights from {source} do not match {type(module).__name__}"]
        if missing:
            parts.append(f"missing keys ({len(missing)}): {missing}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {unexpected}")
        if wrong_shape:
            parts.append(f"shape mismatches ({len(wrong_shape)}): {wrong_shape}")
        if wrong_dtype:
            parts.append(f"dtype mismatches ({len(wrong_dtype)}): {wrong_dtype}")
        if non_finite:
            parts.append(f"NaN or infinite values in ({len(non_finite)}): {non_finite}")
        raise ValueError("; ".join(parts))
    converted = {}
    for key, target in own.items():
        value = state_dict.get(key)
        if value is None:  # an optional counter: keep the module's own
            converted[key] = target
            continue
        dtype = target.dtype if target.is_floating_point() and value.is_floating_point() else value.dtype
        converted[key] = value.to(device=target.device, dtype=dtype)
    module.load_state_dict(converted, strict=True)


def load_into(module: nn.Module, name_or_path: str | Path) -> nn.Module:
    """Load a weight file (manifest name or path) into ``module`` strictly; returns ``module``."""
    state_dict = load_state_dict(name_or_path)
    apply_state_dict(module, state_dict, source=str(name_or_path))
    return module


def build_with_weights(
    build: Callable[[bool], nn.Module],
    weights: str | Path | None,
    *,
    tracker: str,
    variant: str,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
    hint: str = "",
) -> nn.Module:
    """A tracker's network built by ``build(pretrained_backbone)`` on ``device`` in eval mode, filled with weights.

    - ``weights="default"``: the file ``weights/manifest.json`` lists for ``tracker`` and
      ``variant`` (``weights_for``); none listed raises ``WeightsNotFoundError``;
    - ``weights=<path or manifest name>``: that file, loaded strictly;
    - ``weights=None``: random heads on the ImageNet backbone when its weights are present
      (the starting point of training), else a fully random network.

    ``generator``: a CPU ``torch.Generator`` every random initial weight is drawn from
    (``trackerzoo.nn.seeding.draws_from``), or ``None`` for torch's global one. ``hint``
    (how to obtain the weights) is appended to a missing-weights error. A file whose
    shapes do not match raises ``ValueError`` naming ``variant``.
    """
    import contextlib

    from trackerzoo.nn.seeding import draws_from
    from trackerzoo.weights.manifest import weights_for

    def built(pretrained: bool) -> nn.Module:
        with draws_from(generator) if generator is not None else contextlib.nullcontext():
            return build(pretrained)

    if weights is None:
        try:
            network = built(True)
        except WeightsNotFoundError:
            network = built(False)
        return network.to(device).eval()
    network = built(False)
    source: str | Path = weights
    if weights == "default":
        entry = weights_for(tracker, variant)
        if entry is None:
            raise WeightsNotFoundError(
                f"{tracker} variant {variant!r} has no shipped weights (weights/manifest.json lists no file for "
                f"tracker {tracker!r}, variant {variant!r}); {hint}"
            )
        source = entry.name
    try:
        load_into(network, source)
    except WeightsNotFoundError as exc:
        raise WeightsNotFoundError(f"{exc} -- {tracker} {variant} weights: {hint}") from exc
    except ValueError as exc:
        raise ValueError(f"{exc} -- built as variant {variant!r}; if the file was trained for another variant, "
                         f"pass variant=...") from exc
    return network.to(device).eval()
