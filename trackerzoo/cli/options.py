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


def parse_overrides(items: list[str] | None) -> dict[str, object]:
    """Parse repeated ``key=value`` options; values are Python literals when they parse as one."""
    overrides: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {item!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides
