"""The weight manifest: ``weights/manifest.json``, one entry per shipped file.

Each entry records what a file is (tracker, variant, backbone), how to verify it
(sha256, parameter count) and where it came from (data, steps, metrics, licence,
source), so a user can tell a converted official checkpoint from one we trained, and
a corrupted or replaced file is caught before it produces silently wrong tracking.

The manifest is the one place that says which file serves which tracker and variant:
plugins ask ``weights_for(tracker, variant)`` instead of naming files themselves (the
default variant is stated once, in the plugin's registration).

Where the folder is: ``$TRACKERZOO_WEIGHTS_DIR`` when set; otherwise the ``weights/``
folder next to the ``trackerzoo`` package (the repository checkout, which is what an
editable install uses); otherwise ``<sys.prefix>/share/trackerzoo/weights`` (where a
wheel built with the ``[tool.setuptools.data-files]`` entry in pyproject.toml installs
it; ``<user base>/share/...`` for ``pip install --user``). The weights stay out of the
package itself so that ``weights/`` remains one plain top-level folder in the repo.
"""

from __future__ import annotations

import dataclasses
import json
import os
import site
import sys
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
WEIGHTS_DIR_ENV = "TRACKERZOO_WEIGHTS_DIR"


@dataclasses.dataclass
class ManifestEntry:
    """One weight file. ``file`` is relative to the weights folder."""

    name: str
    file: str
    sha256: str
    parameter_count: int
    tracker: str | None = None
    variant: str | None = None
    backbone: str | None = None
    data: str = ""
    steps: int | None = None
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    licence: str = ""
    source: str = ""
    # Platt map of the tracker's raw presence score for this file (``trackerzoo.calibration``):
    # {"slope": ..., "intercept": ..., "fitted_on": ...}, written by ``trackerzoo calibrate``.
    presence_calibration: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ManifestEntry:
        if not isinstance(raw, dict):
            raise ValueError(f"a manifest entry must be a JSON object, got {raw!r}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(
                f"unknown manifest field(s) {unknown} in entry {raw.get('name')!r}; known: {sorted(known)}"
            )
        missing = [name for name in ("name", "file", "sha256", "parameter_count") if name not in raw]
        if missing:
            raise ValueError(f"manifest entry {raw.get('name')!r} lacks required field(s) {missing}")
        sha = raw["sha256"]
        if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
            raise ValueError(f"manifest entry {raw['name']!r} has an invalid sha256 {sha!r} (64 lower-case hex digits)")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def candidate_weights_dirs() -> list[Path]:
    """Where the weights folder is looked for, in order (see the module docstring)."""
    override = os.environ.get(WEIGHTS_DIR_ENV)
    if override:
        return [Path(override)]
    checkout = Path(__file__).resolve().parents[2] / "weights"  # trackerzoo/weights/manifest.py -> checkout
    installed = Path(sys.prefix) / "share" / "trackerzoo" / "weights"
    user_installed = Path(site.getuserbase()) / "share" / "trackerzoo" / "weights"  # pip install --user
    return [checkout, installed, user_installed]


def weights_dir() -> Path:
    """The first candidate folder holding a manifest (the first candidate if none does)."""
    candidates = candidate_weights_dirs()
    for folder in candidates:
        if (folder / MANIFEST_NAME).is_file():
            return folder
    return candidates[0]


def manifest_path(folder: Path | None = None) -> Path:
    return (folder or weights_dir()) / MANIFEST_NAME


def read_manifest(path: Path | str | None = None) -> list[ManifestEntry]:
    """All entries of a manifest (an absent manifest is an empty one).

    Raises ``ValueError`` naming the manifest when it is not valid JSON, not a list, or
    holds a malformed or repeated entry.
    """
    path = Path(path) if path is not None else manifest_path()
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"weight manifest {str(path)!r} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                         f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"weight manifest {str(path)!r} is not UTF-8 text: {exc}") from None
    if not isinstance(raw, list):
        raise ValueError(f"{path} must hold a JSON list of entries, got {type(raw).__name__}")
    entries = [ManifestEntry.from_dict(item) for item in raw]
    _check_unique(entries, str(path))
    return entries


def _check_unique(entries: list[ManifestEntry], where: str) -> None:
    """Each name, and each (tracker, variant) pair, may appear once; ``ValueError`` naming the repeats."""
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{where} lists weight name(s) {duplicates} more than once")
    served: dict[tuple[str, str | None], str] = {}
    for entry in entries:
        if entry.tracker is None:
            continue
        key = (entry.tracker, entry.variant)
        if key in served:
            raise ValueError(
                f"{where}: weights {served[key]!r} and {entry.name!r} both serve tracker {entry.tracker!r} "
                f"variant {entry.variant!r}; one file per tracker and variant"
            )
        served[key] = entry.name


def write_manifest(entries: list[ManifestEntry], path: Path | str | None = None) -> Path:
    """Write entries sorted by name, so diffs of the manifest stay readable."""
    path = Path(path) if path is not None else manifest_path()
    _check_unique(entries, "the entries to write")
    ordered = sorted(entries, key=lambda entry: entry.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([entry.to_dict() for entry in ordered], indent=2) + "\n", encoding="utf-8")
    return path


def find_entry(name: str, path: Path | str | None = None) -> ManifestEntry | None:
    """The entry named ``name``, or ``None``."""
    for entry in read_manifest(path):
        if entry.name == name:
            return entry
    return None


def weights_for(tracker: str, variant: str, path: Path | str | None = None) -> ManifestEntry | None:
    """The entry of the file that serves ``tracker``'s ``variant`` (``None`` when none is shipped).

    ``create(tracker, variant=variant, weights="default")`` loads this file; its
    ``name`` is what ``trackerzoo.weights.load_into`` takes.
    """
    for entry in read_manifest(path):
        if entry.tracker == tracker and entry.variant == variant:
            return entry
    return None


# Buffers that a state dict carries but that are not learned parameters.
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def count_parameters(state_dict: dict) -> int:
    """Learned parameters in ``state_dict`` (BatchNorm statistics excluded), as the manifest counts them."""
    return sum(t.numel() for k, t in state_dict.items() if not k.endswith(_BUFFER_SUFFIXES))


def upsert_entry(entry: ManifestEntry, path: Path | str | None = None) -> Path:
    """Add ``entry`` to the manifest, replacing an entry of the same name."""
    entries = [existing for existing in read_manifest(path) if existing.name != entry.name]
    return write_manifest([*entries, entry], path)
