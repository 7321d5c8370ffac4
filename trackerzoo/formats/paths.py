"""Names read from data files that become parts of paths: refuse any that could escape.

Dataset files name their sequences (``list.txt``, ``meta.json``, ``metadata.json``
...), and those names become file and folder names: frames are read from
``<root>/<name>/`` and results written to ``<out>/<name>.txt``. A name such as
``../../x``, ``/etc/x`` or ``C:x`` would then reach outside the folder it belongs
in. Every loader checks each name it reads with ``safe_name`` and every result-path
builder checks it again, so a bad entry is refused where it is read, with the file and
the entry named, and can never reach a writer.
"""

from __future__ import annotations

import os
import re

__all__ = ["safe_name", "safe_relative_path"]

# ``C:`` (a drive-relative path on Windows) at the start of a name.
_DRIVE = re.compile(r"^[A-Za-z]:")


def _problem(name: str, *, allow_slash: bool) -> str | None:
    """Why ``name`` is not a safe single component (or relative path), None when it is."""
    if name == "":
        return "it is empty"
    if "\0" in name:
        return "it contains a NUL character"
    if _DRIVE.match(name):
        return "it starts with a drive letter"
    if name.startswith(("/", "\\")):
        return "it is an absolute path"
    if "\\" in name:
        return "it contains a backslash (a path separator on Windows)"
    if not allow_slash and "/" in name:
        return "it contains a path separator '/'"
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "it contains an empty, '.' or '..' path component"
    return None


def _checked(value: object, source: str | os.PathLike, what: str, *, allow_slash: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} {value!r} in {os.fspath(source)!r} is a {type(value).__name__}, not a string")
    reason = _problem(value, allow_slash=allow_slash)
    if reason is not None:
        usage = "a relative path" if allow_slash else "a file name"
        raise ValueError(f"{what} {value!r} in {os.fspath(source)!r} cannot be used as {usage}: {reason}")
    return value


def safe_name(name: object, *, source: str | os.PathLike, what: str = "sequence name") -> str:
    """``name`` when it is one plain path component; else ``ValueError`` naming ``source`` and the entry.

    Refused: empty names, ``.`` and ``..``, names holding ``/`` or ``\\``, absolute
    paths, names starting with a drive letter (``C:``) and names holding NUL. ``source``
    is the file (or option) the name was read from; ``what`` says what the entry is.
    """
    return _checked(name, source, what, allow_slash=False)


def safe_relative_path(path: object, *, source: str | os.PathLike, what: str = "path") -> str:
    """``path`` when it is a relative path of plain components joined by ``/``; else ``ValueError``.

    For entries that legitimately name a sub-folder (VOT's ``channels.color=color/%08d.jpg``,
    the 2016 DAVIS list lines). The same refusals as ``safe_name`` apply to each
    component, and the path may not start with ``/`` or hold a ``..`` component.
    """
    return _checked(path, source, what, allow_slash=True)
