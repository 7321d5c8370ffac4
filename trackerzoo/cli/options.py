"""Argument parsing helpers shared by sub-commands."""

from __future__ import annotations

import ast


def parse_box(text: str) -> tuple[float, float, float, float]:
    """Parse ``x,y,w,h`` from the command line."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise ValueError(f"--init must be x,y,w,h (4 comma-separated numbers), got {text!r}")
    try:
        return tuple(float(p) for p in parts)  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"--init must be x,y,w,h numbers, got {text!r}") from None


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
