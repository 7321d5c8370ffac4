"""Decides whether ``trackerzoo._C`` must be rebuilt: a stamp of everything the build reads.

    python scripts/ext_stamp.py check [ROOT]   # exit 0: built extension is current, 1: rebuild
    python scripts/ext_stamp.py write [ROOT]   # record the stamp after a successful build

The stamp is a SHA-256 over every file under ``csrc/`` (paths and bytes), ``setup.py``,
the installed torch's version and CUDA version, the Python ABI tag and the environment
variables ``setup.py`` reads. It is stored in ``.venv/trackerzoo-ext.stamp`` together
with the SHA-256 of the compiled library ``trackerzoo/_C<EXT_SUFFIX>`` that build produced;
the build counts as current when the stamp matches and that very library is still there
(not rebuilt from other sources, replaced or deleted since). ``scripts/bootstrap.sh``
uses it so that a second ``make test`` skips the 4-6 minute compile when nothing it
depends on changed, and ``setup.py`` packs that library into the core wheel instead of
compiling it again (``scripts/build_wheels.sh``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import sysconfig
from pathlib import Path

STAMP_FILE = Path(".venv") / "trackerzoo-ext.stamp"
BUILD_ENV = ("TRACKERZOO_NO_EXT", "TRACKERZOO_FORCE_CPU_EXT", "TORCH_CUDA_ARCH_LIST", "CUDA_HOME", "CXX", "CFLAGS")


def torch_versions() -> str:
    """``torch.__version__`` and ``torch.version.cuda`` of the interpreter running this script."""
    import torch

    return f"torch={torch.__version__} cuda={torch.version.cuda}"


def compute_stamp(root: Path, toolchain: str) -> str:
    """SHA-256 hex of the build inputs under ``root`` plus ``toolchain`` (torch/CUDA versions)."""
    digest = hashlib.sha256()
    inputs = sorted(p for p in (root / "csrc").rglob("*") if p.is_file())
    inputs.append(root / "setup.py")
    for path in inputs:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(toolchain.encode() + b"\0")
    digest.update(f"{sys.implementation.cache_tag} {sysconfig.get_config_var('EXT_SUFFIX')}".encode() + b"\0")
    for name in BUILD_ENV:
        digest.update(f"{name}={os.environ.get(name, '')}".encode() + b"\0")
    return digest.hexdigest()


def library_path(root: Path) -> Path:
    """Where an in-place build puts the extension for this interpreter: ``trackerzoo/_C<EXT_SUFFIX>``."""
    return root / "trackerzoo" / f"_C{sysconfig.get_config_var('EXT_SUFFIX')}"


def file_digest(path: Path) -> str:
    """SHA-256 hex of the bytes of ``path``; raises ``FileNotFoundError`` when it does not exist."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(root: Path, stamp: str) -> None:
    """Store ``stamp`` and the digest of the library just built; ``FileNotFoundError`` when there is none."""
    library = library_path(root)
    if not library.is_file():
        raise FileNotFoundError(f"no compiled extension at {library}: nothing to stamp")
    (root / STAMP_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / STAMP_FILE).write_text(f"{stamp}\n{file_digest(library)}\n")


def is_current(root: Path, stamp: str) -> bool:
    """True when the recorded stamp equals ``stamp`` and the library it recorded is present, unchanged."""
    recorded = root / STAMP_FILE
    library = library_path(root)
    if not (recorded.is_file() and library.is_file()):
        return False
    return recorded.read_text().split() == [stamp, file_digest(library)]


def reusable_library(root: Path) -> Path | None:
    """The in-place library when it is current for this interpreter's torch, else ``None`` (build it)."""
    root = Path(root).resolve()
    return library_path(root) if is_current(root, compute_stamp(root, torch_versions())) else None


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] not in ("check", "write"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = Path(argv[1] if len(argv) == 2 else Path(__file__).resolve().parents[1]).resolve()
    stamp = compute_stamp(root, torch_versions())
    if argv[0] == "write":
        try:
            record(root, stamp)
        except FileNotFoundError as exc:
            print(f"ext_stamp: {exc}", file=sys.stderr)
            return 1
        return 0
    return 0 if is_current(root, stamp) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
