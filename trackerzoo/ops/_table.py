"""The dispatch table of ``backend="auto"``: per device type, op and shape bucket, the fastest path.

A table is JSON::

    {"format": 1,
     "devices": {"cpu": {"measured_on": "...", "torch": "2.13.0", "threads": 1,
                         "choices": {"dw_xcorr": {"1": "grouped_cl", "9+": "cpu"}, ...},
                         "medians_ms": {...}}}}

``python -m trackerzoo.ops.tune`` measures one and writes it. Tables are looked up, per
device type, in this order: the file named by ``TRACKERZOO_OPS_TABLE`` (``off`` disables
tables: ``auto`` then always takes the kernel), else the user's table
``$XDG_CACHE_HOME/trackerzoo/ops_table.json`` (``~/.cache`` without XDG), else the table
shipped with trackerzoo (``default_table.json``, measured on a CPU only). A file that cannot
be read is reported once with a warning and skipped. The merged choices load once per
process; ``choice`` is then two dict lookups (well under a microsecond).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

TABLE_ENV_VAR = "TRACKERZOO_OPS_TABLE"
FORMAT = 1
SHIPPED = Path(__file__).resolve().parent / "default_table.json"
_OFF = ("off", "none", "0")

# device type -> op -> bucket -> path; None until first needed (see choice()).
_choices: dict[str, dict[str, dict[str, str]]] | None = None
_sources: list[str] = []


def user_table_path() -> Path:
    """Where ``tune`` writes by default: ``$XDG_CACHE_HOME/trackerzoo/ops_table.json``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "trackerzoo" / "ops_table.json"


def parse(table: object, source: str) -> dict[str, dict[str, dict[str, str]]]:
    """The ``device -> op -> bucket -> path`` choices of a table, or ``ValueError`` naming ``source``."""
    if not isinstance(table, dict) or table.get("format") != FORMAT or not isinstance(table.get("devices"), dict):
        raise ValueError(f"{source}: not an ops dispatch table (need format {FORMAT} and a 'devices' object)")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for device, entry in table["devices"].items():
        choices = entry.get("choices") if isinstance(entry, dict) else None
        if not isinstance(choices, dict):
            raise ValueError(f"{source}: device {device!r} has no 'choices' object")
        out[device] = {}
        for op, buckets in choices.items():
            if not isinstance(buckets, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in buckets.items()
            ):
                raise ValueError(f"{source}: choices of {op!r} on {device!r} must map bucket names to path names")
            out[device][op] = dict(buckets)
    return out


def read(path: Path) -> dict:
    """A table file as JSON (``OSError`` or ``ValueError`` when unreadable)."""
    return json.loads(Path(path).read_text())


def _load() -> dict[str, dict[str, dict[str, str]]]:
    merged: dict[str, dict[str, dict[str, str]]] = {}
    _sources.clear()
    named = os.environ.get(TABLE_ENV_VAR, "").strip()
    if named.lower() in _OFF:
        _sources.append(f"{TABLE_ENV_VAR}={named}")
        return merged
    paths = [Path(named)] if named else [user_table_path(), SHIPPED]
    for path in reversed(paths):  # the first of the list wins, per device type
        if not named and not path.exists():
            continue
        try:
            merged.update(parse(read(path), str(path)))
        except (OSError, ValueError) as exc:
            warnings.warn(f"trackerzoo ops dispatch table skipped: {exc}", RuntimeWarning, stacklevel=3)
            continue
        _sources.insert(0, str(path))
    return merged


def choice(op: str, device: str, bucket: str) -> str | None:
    """The path the table names for ``op`` on ``device`` (``"cpu"``/``"cuda"``) in ``bucket``, or None."""
    global _choices
    if _choices is None:
        _choices = _load()
    return _choices.get(device, {}).get(op, {}).get(bucket)


def set_table(table: dict | str | Path | None) -> None:
    """Use ``table`` (a table dict or a JSON file) from now on; ``None`` reloads the default files.

    Raises ``ValueError`` for a malformed table and ``OSError`` for an unreadable file.
    """
    global _choices
    if table is None:
        _choices = None
        return
    if isinstance(table, dict):
        _choices = parse(table, "table")
        _sources[:] = ["(set in process)"]
    else:
        _choices = parse(read(Path(table)), str(table))
        _sources[:] = [str(table)]


def current() -> dict:
    """The choices in use and where they came from: ``{"sources": [...], "choices": {...}}``."""
    global _choices
    if _choices is None:
        _choices = _load()
    return {"sources": list(_sources), "choices": json.loads(json.dumps(_choices))}
