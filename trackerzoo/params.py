"""Declared tracker parameters: one declaration per field, checked before a tracker is built.

A tracker's parameter dataclass declares each field with :func:`param`: its default,
its valid range or choices and a one-line meaning; the field's type annotation is its
type (``int``, ``float``, ``bool``, ``str``, or one of them ``| None``). Rules that tie
fields together are :class:`Relation` objects in the class attribute ``relations``::

    @dataclasses.dataclass
    class MyParams:
        lr: float = param(0.38, low=0.0, high=1.0, help="size smoothing rate")
        positive_iou: float = param(0.7, low=0.0, high=1.0, low_open=True, help="...")
        negative_iou: float = param(0.3, low=0.0, high=1.0, low_open=True, help="...")
        relations: ClassVar[tuple[Relation, ...]] = (
            Relation("positive_iou > negative_iou", lambda p: p.positive_iou > p.negative_iou),
        )

:func:`validate_params` checks every declared field (type, ``None``, NaN/inf, range,
choices, a custom check) and then every relation, raising a ``ValueError`` that names
the parameter, the value and what is valid. ``trackerzoo.create`` calls it before the
tracker is built; :func:`describe_params` gives the rows ``trackerzoo list --params``
prints.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import reprlib
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

METADATA_KEY = "trackerzoo.param"


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """What one parameter accepts (attached to its dataclass field's metadata)."""

    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: ``low`` itself is refused
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], None] | None = None  # extra test; raises ValueError saying why
    valid: str | None = None  # how the valid values read when ``check`` is what decides

    def range_text(self) -> str:
        """The valid values as text: ``[0, 1]``, ``(0, 1]``, ``>= 1``, ``one of 'a', 'b'``, ..."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(choice) for choice in self.choices)
        if self.valid is not None:
            return self.valid
        if self.low is not None and self.high is not None:
            opening, closing = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{opening}{_number(self.low)}, {_number(self.high)}{closing}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_number(self.low)}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {_number(self.high)}"
        return "any"

    def contains(self, value: numbers.Real) -> bool:
        """Whether the number ``value`` lies in ``[low, high]`` (open ends excluded).

        Python ints compare exactly with floats, so an integer too large for a float
        (``10**400``) is simply out of range rather than an ``OverflowError``.
        """
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))


@dataclasses.dataclass(frozen=True)
class Relation:
    """A rule over several parameters: ``text`` says it (``"positive_iou > negative_iou"``), ``holds`` tests it."""

    text: str
    holds: Callable[[Any], bool]


@dataclasses.dataclass(frozen=True)
class ParamRow:
    """One parameter as ``trackerzoo list --params`` prints it."""

    name: str
    type: str
    default: Any
    valid: str
    help: str


def param(
    default: Any,
    *,
    help: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: Sequence[Any] | None = None,
    check: Callable[[Any], None] | None = None,
    valid: str | None = None,
) -> Any:
    """A dataclass field with default ``default`` and its declaration (range, choices, meaning).

    ``low``/``high`` bound numbers (inclusive unless ``low_open``/``high_open``);
    ``choices`` lists the accepted values; ``check(value)`` may raise ``ValueError`` for
    rules no range states (describe them in ``valid``); ``help`` is the one-line
    meaning. Raises ``ValueError`` when ``help`` is empty or ``low > high``.
    """
    if not help or not help.strip():
        raise ValueError("param() needs a one-line help text saying what the parameter means")
    if low is not None and high is not None and low > high:
        raise ValueError(f"param(): low {low!r} exceeds high {high!r}")
    spec = ParamSpec(
        help=help.strip(), low=low, high=high, low_open=low_open, high_open=high_open,
        choices=tuple(choices) if choices is not None else None, check=check, valid=valid,
    )
    return dataclasses.field(default=default, metadata={METADATA_KEY: spec})


def spec_of(field: dataclasses.Field) -> ParamSpec | None:
    """The declaration of ``field``, or ``None`` when it was not declared with :func:`param`."""
    return field.metadata.get(METADATA_KEY)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None`` / ``Optional[X]``, else ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        if len(members) == 1:
            return members[0], optional
        return typing.Union[tuple(members)], optional  # noqa: UP007 - built from a runtime tuple
    return annotation, False


def type_name(annotation: Any) -> str:
    """``int``, ``float | None``, ...: the annotation as a user reads it."""
    base, optional = _split_optional(annotation)
    name = getattr(base, "__name__", str(base))
    return f"{name} | None" if optional else name


_REPR = reprlib.Repr()
_REPR.maxlong, _REPR.maxstring = 40, 80


def _show(value: Any) -> str:
    """``repr(value)`` shortened for messages (a 400-digit integer, a long string)."""
    return _REPR.repr(value)


def _type_error(name: str, value: Any, expected: str, spec: ParamSpec) -> ValueError:
    return ValueError(f"parameter {name}={_show(value)} is invalid: expected {expected} in {spec.range_text()}")


def check_value(name: str, value: Any, annotation: Any, spec: ParamSpec) -> None:
    """Check one value against its type and declaration; ``ValueError`` naming name, value and range."""
    base, optional = _split_optional(annotation)
    if value is None:
        if optional:
            return
        raise _type_error(name, value, f"a {type_name(base)} (not None)", spec)
    if base is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise _type_error(name, value, "true or false", spec)
    elif base is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise _type_error(name, value, "an integer", spec)
    elif base is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise _type_error(name, value, "a number", spec)
        if not (isinstance(value, numbers.Integral) or math.isfinite(float(value))):
            raise _type_error(name, value, "a finite number (not NaN or inf)", spec)
    elif base is str and not isinstance(value, str):
        raise _type_error(name, value, "a string", spec)
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"parameter {name}={_show(value)} is invalid: expected {spec.range_text()}")
    if (spec.low is not None or spec.high is not None) and not spec.contains(
            value if isinstance(value, numbers.Integral) else float(value)):
        raise ValueError(f"parameter {name}={_show(value)} is out of range: valid range {spec.range_text()}")
    if spec.check is not None:
        try:
            spec.check(value)
        except ValueError as exc:
            raise ValueError(
                f"parameter {name}={_show(value)} is invalid ({exc}); valid: {spec.range_text()}") from None


def validate_params(params: Any, owner: str | None = None) -> None:
    """Check every declared field of the dataclass instance ``params``, then its ``relations``.

    Fields declared without :func:`param` are left alone (a third-party tracker that
    declares nothing is not checked). ``owner`` (a tracker name) prefixes the message.
    Raises ``ValueError`` naming the parameter, the value and the valid range, or the
    relation and the values of the fields it names.
    """
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        return
    prefix = f"tracker {owner!r}: " if owner else ""
    hints = typing.get_type_hints(type(params))
    for field in dataclasses.fields(params):
        spec = spec_of(field)
        if spec is None:
            continue
        try:
            check_value(field.name, getattr(params, field.name), hints[field.name], spec)
        except ValueError as exc:
            raise ValueError(prefix + str(exc)) from None
    for relation in getattr(type(params), "relations", ()):
        if not relation.holds(params):
            words = set(re.findall(r"[A-Za-z_]\w*", relation.text))
            names = [field.name for field in dataclasses.fields(params) if field.name in words]
            values = ", ".join(f"{name}={getattr(params, name)!r}" for name in names)
            raise ValueError(f"{prefix}parameters {values} break the rule {relation.text}")


def describe_params(params_type: type) -> list[ParamRow]:
    """One row per field of the dataclass ``params_type`` (undeclared fields: valid ``?``, no help)."""
    if not dataclasses.is_dataclass(params_type):
        return []
    hints = typing.get_type_hints(params_type)
    rows = []
    for field in dataclasses.fields(params_type):
        spec = spec_of(field)
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = "(required)"
        rows.append(ParamRow(
            name=field.name,
            type=type_name(hints[field.name]),
            default=default,
            valid=spec.range_text() if spec is not None else "?",
            help=spec.help if spec is not None else "",
        ))
    return rows


def relations_of(params_type: type) -> tuple[Relation, ...]:
    """The cross-field rules a parameter dataclass declares (empty when none)."""
    return tuple(getattr(params_type, "relations", ()))
