"""Training settings as one plain dataclass, and ``--set key=value`` overrides of it.

Every training hyper-parameter is a field of a dataclass so that a recipe reads like
the paper's implementation section and the command line can change any of them
without a second configuration language. A recipe subclasses :class:`TrainConfig`
with its own fields (crop sizes, loss weights, ...) and calls
:func:`apply_overrides` in its ``build``; the trainer reads only the base fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

ConfigT = TypeVar("ConfigT")

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("constant", "step", "cosine", "exponential")
WARMUP_MODES = ("linear", "exponential")
AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclasses.dataclass
class TrainConfig:
    """Settings the trainer itself reads; recipes subclass it to add their own."""

    steps: int = 1000
    batch_size: int = 16
    seed: int = 0
    num_workers: int = 0

    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9  # SGD only
    betas: tuple[float, ...] = (0.9, 0.999)  # Adam/AdamW only

    schedule: str = "step"
    lr_milestones: tuple[int, ...] = ()  # step schedule: steps at which lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    final_lr_factor: float = 0.0  # cosine/exponential: lr at the last step as a fraction of lr
    warmup_steps: int = 0
    warmup_start_factor: float = 0.1
    warmup_mode: str = "linear"

    grad_clip: float | None = None  # max global L2 norm of the gradients; None disables clipping
    amp: str = "auto"  # autocast on CUDA only: auto picks bf16 where supported, else fp16

    val_every: int = 200
    val_batches: int = 8
    checkpoint_every: int = 500
    checkpoint_minutes: float | None = 10.0  # also checkpoint after this much wall time
    keep_checkpoints: int = 2
    log_every: int = 10

    def validate(self) -> None:
        """Raise a ValueError naming the first setting that cannot work."""
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("warmup_mode", self.warmup_mode, WARMUP_MODES)
        _check_choice("amp", self.amp, AMP_MODES)
        for name in ("steps", "batch_size", "val_every", "checkpoint_every", "log_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("num_workers", "warmup_steps", "val_batches"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 < self.warmup_start_factor <= 1:
            raise ValueError(f"warmup_start_factor must be in (0, 1], got {self.warmup_start_factor!r}")
        if not 0 <= self.final_lr_factor <= 1:
            raise ValueError(f"final_lr_factor must be in [0, 1], got {self.final_lr_factor!r}")
        if self.schedule == "exponential" and self.final_lr_factor <= 0:
            raise ValueError("schedule 'exponential' needs final_lr_factor > 0, got 0")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if list(self.lr_milestones) != sorted(self.lr_milestones):
            raise ValueError(f"lr_milestones must be increasing, got {self.lr_milestones!r}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def parse_assignments(assignments: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["lr=0.01", "steps=10"]`` -> ``{"lr": "0.01", "steps": "10"}`` (values stay text)."""
    overrides: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        overrides[key] = value.strip()
    return overrides


def apply_overrides(config: ConfigT, overrides: Mapping[str, Any]) -> ConfigT:
    """A copy of dataclass ``config`` with ``overrides`` applied.

    Text values (from the command line) are converted to the field's annotated type;
    other values must already have a compatible type. An unknown key raises a
    ValueError that lists the valid keys, so a typo never silently trains with the
    default.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"apply_overrides needs a dataclass instance, got {type(config).__name__}")
    fields = {field.name: field for field in dataclasses.fields(config) if field.init}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(map(repr, unknown))} for {type(config).__name__}; "
            f"valid settings: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(type(config))
    converted = {key: convert_value(key, value, hints[key]) for key, value in overrides.items()}
    result = dataclasses.replace(config, **converted)
    validate = getattr(result, "validate", None)
    if callable(validate):
        validate()
    return result


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain-data form of a config (tuples become lists), for JSON and checkpoints."""
    plain = dataclasses.asdict(config)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in plain.items()}


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("none", "null")


def convert_value(key: str, value: Any, annotation: Any) -> Any:
    """Convert ``value`` to ``annotation`` (bool, int, float, str, tuples, ``X | None``)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
            if len(members) < len(args):
                return None
            raise ValueError(f"setting {key!r} cannot be None")
        errors = []
        for member in members:
            try:
                return convert_value(key, value, member)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(f"setting {key!r}: cannot use {value!r} ({'; '.join(errors)})")
    if origin in (tuple, list):
        element = args[0] if args else str
        if isinstance(value, str):
            text = value.strip().strip("()[]")
            items: list[Any] = [part.strip() for part in text.split(",") if part.strip()]
        elif isinstance(value, (tuple, list)):
            items = list(value)
        else:
            raise ValueError(f"setting {key!r} expects a comma-separated list, got {value!r}")
        converted = [convert_value(key, item, element) for item in items]
        return tuple(converted) if origin is tuple else converted
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"setting {key!r} expects true/false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise ValueError(f"setting {key!r} expects an integer, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {key!r} expects an integer, got {value!r}") from None
        if not as_float.is_integer():
            raise ValueError(f"setting {key!r} expects an integer, got {value!r}")
        return int(as_float)
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError(f"setting {key!r} expects a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {key!r} expects a number, got {value!r}") from None
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"setting {key!r} expects text, got {value!r}")
        return value
    if annotation is typing.Any:
        return value
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise ValueError(f"setting {key!r} of type {annotation!r} cannot be set from {value!r}")
