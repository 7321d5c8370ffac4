"""Composited sequences: determinism, exact ground truth, layouts that load back."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from trackerzoo.datasets import dataset_kinds, load_dataset
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset, generate_sequence
from trackerzoo.datasets.synthetic.writers import cover_label

SMALL = SceneConfig(frame_size=(192, 144), object_size=(50.0, 110.0))


def _spec(**changes) -> DatasetSpec:
    base = DatasetSpec(sequences=3, frames=(36, 44), seed=7, procedural=True, config=SMALL)
    return dataclasses.replace(base, **changes)


def _render(spec: DatasetSpec, index: int):
    scene, frames = generate_sequence(spec, index)
    return scene, list(frames)


def test_same_seed_same_frames_boxes_and_masks():
    _, first = _render(_spec(), 1)
    _, again = _render(_spec(), 1)
    assert len(first) == len(again)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.box, b.box)
    _, other = _render(_spec(seed=8), 1)
    assert any(not np.array_equal(a.image, b.image) for a, b in zip(first, other, strict=True))


def test_box_is_tight_box_of_visible_mask():
    spec = _spec(config=dataclasses.replace(SMALL, p_occluder=1.0, p_exit=1.0))
    checked_visible = checked_hidden = 0
    for index in range(3):
        _, frames = _render(spec, index)
        assert frames[0].visible and frames[0].cover > 0.5  # the initialisation frame shows the target
        for truth in frames:
            height, width = truth.mask.shape
            assert truth.visible == bool(truth.mask.any())
            if not truth.visible:
                assert np.isnan(truth.box).all() and truth.cover == 0.0
                checked_hidden += 1
                continue
            rows = np.flatnonzero(truth.mask.any(axis=1))
            cols = np.flatnonzero(truth.mask.any(axis=0))
            expected = [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]
            np.testing.assert_array_equal(truth.box, expected)
            assert truth.box[0] >= 0 and truth.box[0] + truth.box[2] <= width
            assert truth.box[1] >= 0 and truth.box[1] + truth.box[3] <= height
            assert 0.0 < truth.cover <= 1.0
            checked_visible += 1
    assert checked_visible > 50
    assert checked_hidden > 0  # forced exits make the target leave the view


def test_target_leaves_and_reenters_the_view():
    spec = _spec(frames=(80, 80), config=dataclasses.replace(SMALL, p_exit=1.0, p_occluder=0.0))
    seen_reentry = False
    for index in range(4):
        scene, frames = _render(spec, index)
        in_view = np.array([t.in_view for t in frames])
        gone = np.flatnonzero(~in_view)
        if gone.size and gone[-1] + 1 < len(frames) and in_view[gone[-1] + 1:].any():
            seen_reentry = True
            assert "exit" in scene.events
    assert seen_reentry


def test_occluders_hide_part_of_the_target():
    spec = _spec(frames=(80, 80), config=dataclasses.replace(SMALL, p_occluder=1.0, p_exit=0.0))
    occluded = [t.occluded for index in range(3) for t in _render(spec, index)[1]]
    assert any(occluded)


def test_companion_walks_beside_the_target_from_frame_zero():
    spec = _spec(config=dataclasses.replace(SMALL, p_companion=1.0))
    scene, frames = _render(spec, 1)
    assert scene.events["companion"] in ("recoloured", "identical", "same-category")
    target = scene.layers[scene.target_index]
    distances = [np.hypot(layer.cx[0] - target.cx[0], layer.cy[0] - target.cy[0]) / target.size[0]
                 for layer in scene.layers if layer.role == "distractor"]
    # Beside it, not on it: the crossing distractors start well clear (at least 0.75 sizes).
    assert any(0.4 <= d <= 1.6 for d in distances)
    assert frames[0].visible


def test_companion_draw_leaves_the_rest_of_the_scene_unchanged():
    """The knob's draw comes last, so sets made with it off match those made before it existed."""
    plain, _ = generate_sequence(_spec(), 2)
    paired, _ = generate_sequence(_spec(config=dataclasses.replace(SMALL, p_companion=1.0)), 2)
    assert "companion" not in plain.events and "companion" in paired.events
    assert len(paired.layers) == len(plain.layers) + 1
    for layer in plain.layers:
        assert any(np.array_equal(layer.cx, other.cx) and np.array_equal(layer.size, other.size)
                   and layer.role == other.role for other in paired.layers)
    np.testing.assert_array_equal(plain.illumination.gain, paired.illumination.gain)


def test_companion_probability_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="p_companion"):
        SceneConfig(p_companion=1.5)


def test_companion_spacing_in_extents_walks_thin_targets_shoulder_to_shoulder():
    """With ``extent`` spacing the offset is measured in the target's own width, not its longest side."""
    for index in range(3):
        by_size, _ = generate_sequence(_spec(config=dataclasses.replace(SMALL, p_companion=1.0)), index)
        by_extent, _ = generate_sequence(
            _spec(config=dataclasses.replace(SMALL, p_companion=1.0, companion_spacing="extent")), index)
        target = by_extent.layers[by_extent.target_index]
        width, height = target.sprite.size
        target_width = target.size[0] / max(width, height) * width * np.sqrt(target.aspect[0])
        target_height = target.size[0] / max(width, height) * height / np.sqrt(target.aspect[0])
        companion = [layer for layer in by_extent.layers if layer.role == "distractor"][-1]
        reference = [layer for layer in by_size.layers if layer.role == "distractor"][-1]
        # The same draws, only the unit changes: the offset shrinks by width/size across, height/size along.
        dx, dy = companion.cx[0] - target.cx[0], companion.cy[0] - target.cy[0]
        ref_dx, ref_dy = reference.cx[0] - target.cx[0], reference.cy[0] - target.cy[0]
        np.testing.assert_allclose(dx, ref_dx * target_width / target.size[0], rtol=1e-9)
        np.testing.assert_allclose(dy, ref_dy * target_height / target.size[0], rtol=1e-9)
        # The drift starts at zero, so at frame 0 the offset is the drawn 0.6-1.2 units.
        assert 0.6 <= np.hypot(dx / target_width, dy / target_height) <= 1.2


def test_companion_spacing_unknown_is_rejected():
    with pytest.raises(ValueError, match=r"companion_spacing.*'width'"):
        SceneConfig(companion_spacing="width")


def test_cover_label_bins():
    assert [cover_label(c) for c in (0.0, 0.01, 0.15, 0.16, 0.5, 0.9, 0.95, 1.0)] == [0, 1, 1, 2, 4, 6, 7, 8]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    spec = _spec()
    root = tmp_path_factory.mktemp("synthetic")
    build_dataset(spec, root, progress=False)
    return spec, root


def test_synthetic_kind_loads_what_was_generated(generated):
    spec, root = generated
    dataset = load_dataset("synthetic", root)
    assert dataset.names == [spec.name_of(i) for i in range(spec.sequences)]
    sequence = dataset[1]
    _, frames = _render(spec, 1)
    assert len(sequence) == len(frames)
    np.testing.assert_array_equal(sequence.boxes, np.stack([t.box for t in frames]))
    np.testing.assert_array_equal(sequence.visible, [t.visible for t in frames])
    for index in (0, len(frames) // 2, len(frames) - 1):
        np.testing.assert_array_equal(sequence.mask(index), frames[index].mask)
        # JPEG is lossy: the stored frame is close to, not equal to, the rendered one.
        difference = np.abs(sequence.frame(index).astype(int) - frames[index].image.astype(int))
        assert difference.mean() < 4.0
    assert sequence.anchors[0] == 0


def test_rerun_resumes_and_rejects_another_spec(generated, tmp_path):
    spec, root = generated
    before = (root / "got10k" / spec.name_of(0) / "groundtruth.txt").read_text()
    build_dataset(spec, root, progress=False)  # everything done: nothing rewritten
    assert (root / "got10k" / spec.name_of(0) / "groundtruth.txt").read_text() == before
    with pytest.raises(ValueError, match="different generated set"):
        build_dataset(dataclasses.replace(spec, seed=99), root, progress=False)


def test_set_written_before_a_new_knob_still_resumes(tmp_path):
    """Metadata without ``p_companion`` (older generator) describes the same set: resume it."""
    spec = _spec(sequences=1, frames=(12, 12))
    root = build_dataset(spec, tmp_path / "old", progress=False)
    metadata = json.loads((root / "synthetic.json").read_text())
    del metadata["spec"]["config"]["p_companion"]
    (root / "synthetic.json").write_text(json.dumps(metadata))
    build_dataset(spec, root, progress=False)
    with pytest.raises(ValueError, match="different generated set"):
        build_dataset(dataclasses.replace(spec, config=dataclasses.replace(SMALL, p_companion=0.5)), root,
                      progress=False)


@pytest.mark.skipif("got10k" not in dataset_kinds(), reason="GOT-10k loader not available")
def test_got10k_layout_loads_with_the_got10k_loader(generated):
    _, root = generated
    synthetic = load_dataset("synthetic", root)
    got = load_dataset("got10k", root / "got10k")
    assert sorted(got.names) == sorted(synthetic.names)
    for name in synthetic.names:
        ours, theirs = synthetic[name], got[name]
        assert len(theirs) == len(ours)
        visible = ours.visible
        np.testing.assert_array_equal(theirs.boxes[visible], ours.boxes[visible])
        if theirs.visible is not None:
            np.testing.assert_array_equal(theirs.visible, visible)
        np.testing.assert_array_equal(theirs.frame(3), ours.frame(3))


@pytest.mark.skipif("vot" not in dataset_kinds(), reason="VOT loader not available")
def test_vot_layout_loads_with_the_vot_loader(generated):
    _, root = generated
    synthetic = load_dataset("synthetic", root)
    vot = load_dataset("vot", root / "vot")
    for name in synthetic.names:
        ours, theirs = synthetic[name], vot[name]
        assert len(theirs) == len(ours)
        assert list(theirs.anchors) == list(ours.anchors)
        for index in (0, len(ours) // 2):
            np.testing.assert_array_equal(theirs.mask(index), ours.mask(index))
        np.testing.assert_array_equal(theirs.frame(2), ours.frame(2))


def test_make_dataset_cli(tmp_path):
    from trackerzoo.cli.main import main

    out = tmp_path / "cli"
    code = main(["make-dataset", "--out", str(out), "--sequences", "2", "--frames", "12", "--seed", "3",
                 "--procedural", "--size", "128x96"])
    assert code == 0
    dataset = load_dataset("synthetic", out)
    assert len(dataset) == 2 and len(dataset[0]) == 12 and dataset[0].frame(0).shape == (96, 128, 3)
    assert main(["make-dataset", "--out", str(out), "--preset", "zoo-synth-val", "--seed", "1"]) == 2
    assert main(["make-dataset", "--out", str(out), "--preset", "zoo-synth-val-pairs", "--companions", "0.5"]) == 2
    paired = tmp_path / "paired"
    assert main(["make-dataset", "--out", str(paired), "--sequences", "1", "--frames", "12", "--seed", "3",
                 "--procedural", "--size", "128x96", "--companions", "1"]) == 0
    assert "companion" in json.loads((paired / "synthetic.json").read_text())["sequences"][0]["events"]
    assert main(["make-dataset", "--out", str(out), "--preset", "zoo-synth-val-pairs",
                 "--companion-spacing", "extent"]) == 2
    close = tmp_path / "close"
    assert main(["make-dataset", "--out", str(close), "--sequences", "1", "--frames", "12", "--seed", "3",
                 "--procedural", "--size", "128x96", "--companions", "1", "--companion-spacing", "extent"]) == 0
    assert json.loads((close / "synthetic.json").read_text())["spec"]["config"]["companion_spacing"] == "extent"


def test_sprite_clip_pastes_the_sprite_where_asked_and_refuses_it_outside():
    from trackerzoo.datasets.synthetic.procedural import procedural_background, procedural_sprite, sprite_clip

    rng = np.random.default_rng(0)
    background = procedural_background(rng, (64, 48))
    sprite = procedural_sprite(rng, 16)
    width, height = sprite.size
    frames, boxes = sprite_clip(background, sprite, [(20, 20), None])
    x0, y0 = 20 - width // 2, 20 - height // 2
    assert boxes == [(x0, y0, width, height), None]
    np.testing.assert_array_equal(frames[1], background)  # no target: the background as it was
    inside = sprite.rgba[..., 3] > 0.99  # opaque sprite pixels show the sprite, not the background
    assert inside.any()
    np.testing.assert_allclose(frames[0][y0:y0 + height, x0:x0 + width][inside] / 255.0,
                               sprite.rgba[..., :3][inside], atol=1 / 255)
    assert (frames[0][:y0] == background[:y0]).all() and (frames[0][y0 + height:] == background[y0 + height:]).all()
    with pytest.raises(ValueError, match="outside"):
        sprite_clip(background, sprite, [(60, 20)])
