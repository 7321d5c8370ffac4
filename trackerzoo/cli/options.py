"""Argument parsing helpers shared by sub-commands."""

from __future__ import annotations

import ast
import math


def parse_box(text: str) -> tuple[float, float, float, float]:
    """Parse ``x,y,w,h`` (pixels) from the command line.

    Raises ``ValueError`` naming the text unless it is 4 finite numbers with ``w, h > 0``;
    the checks that need the frame (overlap, size at most 4x the frame) are
    ``trackerzoo.validation.as_box``'s, when the tracker is initialised.
    """
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise ValueError(f"--init must be x,y,w,h (4 comma-separated numbers), got {text!r}")
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--init must be x,y,w,h numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"--init must be finite numbers (no NaN, inf or overflowing values), got {text!r}")
    if w <= 0 or h <= 0:
        raise ValueError(f"--init width and height must be positive, got w={w:g}, h={h:g} in {text!r}")
    return (x, y, w, h)


# Shell-style spellings of booleans and None, so that ``--set use_x=false`` is False
# rather than the (truthy) string "false".
_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "none": None}


def parse_value(text: str) -> object:
    """A Python literal when ``text`` is one, a boolean/None word, else the text itself."""
    word = text.strip().lower()
    if word in _WORDS:
        return _WORDS[word]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(items: list[str] | None) -> dict[str, object]:
    """Parse repeated ``key=value`` options."""
    overrides: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {item!r}")
        overrides[key] = parse_value(value)
    return overrides
