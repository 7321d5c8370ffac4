"""The image assets of the generator: where they live, what they are, which split.

``scripts/fetch_assets.sh`` unpacks five Debian packages into the asset directory
(``$TRACKERZOO_ASSETS`` or ``~/.cache/trackerzoo/assets``). This module indexes them
into three pools -- object cut-outs (PNGs with alpha), background photographs and
background videos -- and splits each pool into ``train`` and held-out ``val``.

The split is by *group*, not by file: a group is the directory plus the file stem
with digits and variant suffixes stripped (``apple_red.png`` and ``apple_green.png``,
``left01.jpg`` and ``left02.jpg``, ``Megamind.avi`` and ``Megamind_bugy.avi`` each
form one group), so near-duplicates never straddle the split. A group's split is
decided by a hash of its name alone, so it does not change when other files appear,
and anybody with the same package versions gets the same split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

ASSETS_ENV = "TRACKERZOO_ASSETS"
# v2: the demo clip's source video left out (HELD_OUT_FILES).
INDEX_NAME = "index-v2.json"
VAL_FRACTION = 0.2
SPLITS = ("train", "val")

# Where, inside the unpacked packages, each pool is found.
OBJECT_DIRS = ("usr/share/openclipart/png", "usr/share/tuxpaint/stamps")
IMAGE_DIRS = ("usr/share/backgrounds/mate", "usr/share/tuxpaint/templates", "usr/share/doc/opencv-doc/examples/data")
VIDEO_DIRS = ("usr/share/doc/opencv-doc/examples/data",)
# Cut-outs that are glyphs rather than objects (letters, digits, math signs).
EXCLUDED_OBJECT_PARTS = ("/alphabets/", "/symbols/math", "/symbols/numbers")
IMAGE_SUFFIXES = (".jpg", ".jpeg")
MATE_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm")
# In neither split: vtest.avi is the source of the bundled demo clip, which must stay
# unseen by training (index v1 had it among the training background videos).
HELD_OUT_FILES = frozenset({"usr/share/doc/opencv-doc/examples/data/vtest.avi"})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def default_assets_dir() -> Path:
    configured = os.environ.get(ASSETS_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "trackerzoo" / "assets"


def group_key(relative_path: str) -> str:
    """Directory plus the stem's leading word, lower-cased (see the module docstring)."""
    directory, _, filename = relative_path.rpartition("/")
    stem = filename.rsplit(".", 1)[0].lower()
    word = re.split(r"[_\-\s.]", stem, maxsplit=1)[0]
    word = word.rstrip("0123456789") or stem
    return f"{directory}/{word}"


def split_of(pool: str, group: str) -> str:
    digest = hashlib.sha1(f"{pool}:{group}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2.0**64
    return "val" if fraction < VAL_FRACTION else "train"


def _png_has_alpha(path: Path) -> bool:
    """Read only the PNG header: colour type 4/6 has alpha, palette needs a tRNS chunk."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head.startswith(_PNG_SIGNATURE) or len(head) < 26:
        return False
    colour_type = head[25]
    if colour_type in (4, 6):
        return True
    if colour_type == 3:
        idat = head.find(b"IDAT")
        trns = head.find(b"tRNS")
        return trns != -1 and (idat == -1 or trns < idat)
    return False


def _files_under(root: Path, directories: tuple[str, ...], suffixes: tuple[str, ...]) -> list[str]:
    found = []
    for directory in directories:
        base = root / directory
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.suffix.lower() in suffixes and path.is_file():
                found.append(path.relative_to(root).as_posix())
    return sorted(set(found))


def _assign_splits(pool: str, paths: list[str]) -> dict[str, list[str]]:
    """Split by group; a non-empty pool always gets at least one group in each split."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(group_key(path), []).append(path)
    assignment = {group: split_of(pool, group) for group in groups}
    if len(groups) >= 2:
        for wanted in SPLITS:
            if wanted not in assignment.values():
                # Move the group whose hash is closest to the boundary.
                ranked = sorted(groups, key=lambda g: hashlib.sha1(f"{pool}:{g}".encode()).hexdigest())
                assignment[ranked[0] if wanted == "val" else ranked[-1]] = wanted
    result: dict[str, list[str]] = {split: [] for split in SPLITS}
    for group, members in groups.items():
        result[assignment[group]].extend(members)
    return {split: sorted(members) for split, members in result.items()}


def _package_versions(assets_dir: Path) -> dict[str, str]:
    versions = {}
    for deb in sorted((assets_dir / "debs").glob("*.deb")):
        name, _, rest = deb.name.partition("_")
        versions[name] = rest.rsplit("_", 1)[0].replace("%3a", ":")
    return versions


def build_index(assets_dir: Path) -> dict:
    """Scan the unpacked packages (see ``scripts/fetch_assets.sh``) and split the pools."""
    root = assets_dir / "root"
    if not root.is_dir():
        raise FileNotFoundError(
            f"no unpacked assets under {str(root)!r}; run scripts/fetch_assets.sh "
            f"(or set {ASSETS_ENV}) or pass --procedural")
    objects = [p for p in _files_under(root, OBJECT_DIRS, (".png",))
               if not any(part in "/" + p for part in EXCLUDED_OBJECT_PARTS) and _png_has_alpha(root / p)]
    images = [p for p in _files_under(root, IMAGE_DIRS, MATE_IMAGE_SUFFIXES)
              if p.lower().endswith(IMAGE_SUFFIXES) or p.startswith("usr/share/backgrounds/")]
    videos = [p for p in _files_under(root, VIDEO_DIRS, VIDEO_SUFFIXES) if p not in HELD_OUT_FILES]
    if not objects or not images:
        raise FileNotFoundError(f"asset directory {str(assets_dir)!r} holds no cut-outs or no background images")
    return {
        "version": 2,
        "packages": _package_versions(assets_dir),
        "objects": _assign_splits("objects", objects),
        "images": _assign_splits("images", images),
        "videos": _assign_splits("videos", videos),
    }


@dataclass(frozen=True)
class AssetIndex:
    """Relative paths of one split's cut-outs, photos and videos under ``root``."""

    root: Path
    split: str
    objects: tuple[str, ...]
    images: tuple[str, ...]
    videos: tuple[str, ...]
    packages: dict

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def fingerprint(self) -> str:
        """Hash of the lists: two machines build the same benchmark iff these agree."""
        text = json.dumps([self.split, self.objects, self.images, self.videos])
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def load_index(split: str, assets_dir: Path | None = None, *, rebuild: bool = False) -> AssetIndex:
    """The asset lists of ``split`` (``train`` or ``val``), indexing the assets on first use."""
    if split not in SPLITS:
        raise ValueError(f"unknown asset split {split!r}; expected one of {SPLITS}")
    assets_dir = Path(assets_dir) if assets_dir is not None else default_assets_dir()
    index_path = assets_dir / INDEX_NAME
    if rebuild or not index_path.is_file():
        index = build_index(assets_dir)
        tmp = index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=1))
        os.replace(tmp, index_path)
    else:
        index = json.loads(index_path.read_text())
    return AssetIndex(
        root=assets_dir / "root",
        split=split,
        objects=tuple(index["objects"][split]),
        images=tuple(index["images"][split]),
        videos=tuple(index["videos"][split]),
        packages=dict(index.get("packages", {})),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Index the generator's assets and print the split sizes.")
    parser.add_argument("--assets", type=Path, default=None, help=f"asset directory (default: ${ASSETS_ENV})")
    parser.add_argument("--rebuild", action="store_true", help="re-scan even if an index exists")
    args = parser.parse_args(argv)
    for split in SPLITS:
        index = load_index(split, args.assets, rebuild=args.rebuild and split == SPLITS[0])
        print(f"{split}: {len(index.objects)} cut-outs, {len(index.images)} photos, "
              f"{len(index.videos)} videos (fingerprint {index.fingerprint})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
