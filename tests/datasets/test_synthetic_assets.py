"""Asset indexing and the held-out split, on a small fake tree of unpacked packages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from trackerzoo.datasets.synthetic.assets import group_key, load_index
from trackerzoo.datasets.synthetic.pools import FilePool


def _write_png(path, alpha: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((40, 40, 4 if alpha else 3), 200, dtype=np.uint8)
    if alpha:
        image[:, :, 3] = 0
        cv2.circle(image, (20, 20), 15, (30, 120, 220, 255), -1)
    cv2.imwrite(str(path), image)


@pytest.fixture
def asset_tree(tmp_path):
    root = tmp_path / "root"
    stamps = root / "usr/share/tuxpaint/stamps"
    for category in ("fruit", "birds", "cars", "boats", "tools", "hats", "fish", "trees"):
        for variant in ("red", "green"):
            _write_png(stamps / category / f"{category}_{variant}.png", alpha=True)
        _write_png(stamps / category / f"{category}_flat.png", alpha=False)  # no alpha: not a cut-out
    _write_png(stamps / "alphabets" / "a.png", alpha=True)  # glyphs are excluded
    photos = root / "usr/share/backgrounds/mate/nature"
    for name in ("Dune", "Wood", "Aqua", "Storm", "Garden", "Blinds"):
        photos.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(photos / f"{name}.jpg"), np.full((60, 80, 3), 90, dtype=np.uint8))
    return tmp_path


def test_group_key_merges_variants():
    assert group_key("a/b/apple_red.png") == group_key("a/b/apple_green.png") == "a/b/apple"
    assert group_key("x/left01.jpg") == group_key("x/left14.jpg") == "x/left"
    assert group_key("x/Megamind.avi") == group_key("x/Megamind_bugy.avi")


def test_split_is_disjoint_by_group_and_stable(asset_tree):
    train = load_index("train", asset_tree)
    val = load_index("val", asset_tree)
    assert train.objects and val.objects and train.images and val.images
    assert not {group_key(p) for p in train.objects} & {group_key(p) for p in val.objects}
    assert not set(train.images) & set(val.images)
    everything = set(train.objects) | set(val.objects)
    assert len(everything) == 16  # two alpha variants per category; no flat PNGs, no glyphs
    assert not any("alphabets" in p or p.endswith("_flat.png") for p in everything)
    again = load_index("val", asset_tree, rebuild=True)
    assert again.objects == val.objects and again.fingerprint == val.fingerprint
    with pytest.raises(ValueError, match="'test'"):
        load_index("test", asset_tree)


def test_file_pool_draws_only_from_its_split(asset_tree):
    val = load_index("val", asset_tree)
    pool = FilePool(val)
    rng = np.random.default_rng(0)
    names = {pool.object(rng).name for _ in range(20)}
    assert names <= set(val.objects)
    background = pool.background(rng, (64, 48), 10, allow_video=False)
    assert background.canvas_at(0).shape[0] >= 48


def test_missing_assets_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch_assets"):
        load_index("train", tmp_path / "nowhere")


def test_demo_source_video_is_in_no_split(asset_tree):
    """vtest.avi is where the bundled demo clip comes from: training must never see it."""
    videos = asset_tree / "root" / "usr/share/doc/opencv-doc/examples/data"
    videos.mkdir(parents=True)
    for name in ("vtest.avi", "tree.avi", "Megamind.avi"):
        (videos / name).write_bytes(b"not decoded by the index")
    train, val = load_index("train", asset_tree), load_index("val", asset_tree)
    indexed = set(train.videos) | set(val.videos)
    assert {path.rpartition("/")[2] for path in indexed} == {"tree.avi", "Megamind.avi"}
