"""Where a scene gets its cut-outs and backgrounds: real assets or procedural ones.

Both pools answer the same three questions (an object, an object similar to a given
one, a background), drawing every choice from the caller's random generator so that
a scene is a pure function of its seed.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from trackerzoo.datasets.synthetic.assets import AssetIndex, group_key
from trackerzoo.datasets.synthetic.backgrounds import StillBackground, VideoBackground
from trackerzoo.datasets.synthetic.procedural import procedural_background, procedural_sprite
from trackerzoo.datasets.synthetic.sprites import MASK_THRESHOLD, Sprite, load_sprite

# A cut-out is rejected when its opaque part is a small fraction of its box (thin line
# art, frames) or when it is tiny: such targets have almost no appearance to track.
MIN_FILL = 0.2
MIN_SIDE = 24
MAX_ATTEMPTS = 50


class AssetPool(Protocol):
    name: str

    def object(self, rng: np.random.Generator) -> Sprite: ...

    def similar_object(self, rng: np.random.Generator, like: Sprite) -> Sprite: ...

    def background(self, rng: np.random.Generator, frame_size: tuple[int, int],
                   length: int, allow_video: bool) -> StillBackground | VideoBackground: ...


def usable(sprite: Sprite) -> bool:
    width, height = sprite.size
    if min(width, height) < MIN_SIDE:
        return False
    return sprite.mask_area >= MIN_FILL * width * height


class ProceduralPool:
    """Textured shapes on textured backgrounds, no files needed."""

    name = "procedural"

    def object(self, rng: np.random.Generator) -> Sprite:
        return procedural_sprite(rng, side=int(rng.integers(64, 129)))

    def similar_object(self, rng: np.random.Generator, like: Sprite) -> Sprite:
        return self.object(rng)

    def background(self, rng: np.random.Generator, frame_size: tuple[int, int],
                   length: int, allow_video: bool) -> StillBackground:
        size = (int(frame_size[0] * 1.5), int(frame_size[1] * 1.5))
        return StillBackground(procedural_background(rng, size), frame_size, "procedural")


def _grouped(paths: SequenceABC[str]) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(group_key(path), []).append(path)
    return [groups[key] for key in sorted(groups)]


def _pick(rng: np.random.Generator, groups: list[list[str]]) -> str:
    """Uniform over groups, then over members: no single big folder dominates."""
    members = groups[int(rng.integers(len(groups)))]
    return members[int(rng.integers(len(members)))]


class FilePool:
    """Cut-outs and backgrounds of one split of the Debian assets."""

    def __init__(self, index: AssetIndex) -> None:
        if not index.objects or not index.images:
            raise ValueError(f"asset split {index.split!r} has no cut-outs or no background images")
        self.index = index
        self.name = f"assets-{index.split}-{index.fingerprint}"
        self._objects = _grouped(index.objects)
        self._images = _grouped(index.images)
        self._videos = _grouped(index.videos)
        self._by_directory: dict[str, list[str]] = {}
        for path in index.objects:
            self._by_directory.setdefault(path.rpartition("/")[0], []).append(path)
        self._cache: dict[str, Sprite | None] = {}

    def _load(self, relative: str) -> Sprite | None:
        if relative not in self._cache:
            try:
                sprite = load_sprite(self.index.path(relative))
            except ValueError:
                sprite = None
            if sprite is not None:
                sprite = Sprite(sprite.rgba, relative)
            self._cache[relative] = sprite if sprite is not None and usable(sprite) else None
        return self._cache[relative]

    def _first_usable(self, rng: np.random.Generator, draw) -> Sprite:
        for _ in range(MAX_ATTEMPTS):
            sprite = self._load(draw())
            if sprite is not None:
                return sprite
        raise ValueError(f"no usable cut-out found in {MAX_ATTEMPTS} draws from {self.name}")

    def object(self, rng: np.random.Generator) -> Sprite:
        return self._first_usable(rng, lambda: _pick(rng, self._objects))

    def similar_object(self, rng: np.random.Generator, like: Sprite) -> Sprite:
        """Another cut-out from the same folder (same category: birds, fruit, cars...)."""
        siblings = [p for p in self._by_directory.get(like.name.rpartition("/")[0], []) if p != like.name]
        if not siblings:
            return self.object(rng)
        return self._first_usable(rng, lambda: siblings[int(rng.integers(len(siblings)))])

    def background(self, rng: np.random.Generator, frame_size: tuple[int, int],
                   length: int, allow_video: bool) -> StillBackground | VideoBackground:
        if allow_video and self._videos:
            path = _pick(rng, self._videos)
            return VideoBackground(self.index.path(path), frame_size, length, float(rng.random()))
        relative = _pick(rng, self._images)
        image = cv2.imread(str(self.index.path(relative)), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read background image {str(self.index.path(relative))!r}")
        return StillBackground(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), frame_size, Path(relative).name)


__all__ = ["MASK_THRESHOLD", "AssetPool", "FilePool", "ProceduralPool"]
