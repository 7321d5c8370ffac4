"""Pair and sequence samplers on in-memory sequences whose ground truth is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from training_fixtures import moving_square_dataset, moving_square_sequence, one_torch_thread

from trackerzoo.datasets import Dataset
from trackerzoo.training import CropSpec, PairSampler, SequenceSampler
from trackerzoo.training.samplers import IndexStream


@pytest.fixture(autouse=True)
def _one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return moving_square_dataset("squares", 3, seed=1)


def _mask_box(mask: torch.Tensor) -> np.ndarray:
    """x, y, w, h of the pixels set in a [1, h, w] crop mask."""
    ys, xs = np.nonzero(mask[0].numpy() > 0.5)
    return np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()], dtype=np.float64)


def test_pairs_are_deterministic_and_labels_match_the_crop(dataset):
    sampler = PairSampler(
        dataset,
        template=CropSpec(output_size=(48, 48), area_scale=2.0),
        search=CropSpec(output_size=(96, 96), area_scale=4.0, scale_jitter=0.2, center_jitter=1.5),
        max_gap=5,
        seed=3,
    )
    assert sampler.use_masks  # every sequence has masks
    first, again, other = sampler[7], sampler[7], sampler[8]
    for key in first:
        assert torch.equal(first[key], again[key]), key
    assert not torch.equal(first["search"], other["search"])
    assert first["template"].shape == (3, 48, 48) and first["search"].shape == (3, 96, 96)
    assert float(first["template"].min()) >= 0 and float(first["template"].max()) <= 1
    for index in range(6):
        item = sampler[index]
        assert 1 <= int(item["frame_gap"]) <= 5
        for branch in ("template", "search"):
            box = item[f"{branch}_box"].numpy()
            # The crop label and the cropped mask agree (to the bilinear resampling of the edges).
            np.testing.assert_allclose(_mask_box(item[f"{branch}_mask"]), box, atol=2.0)
        # Without jitter the template target sits in the middle; its area is (48/2)^2 px.
        template_box = item["template_box"].numpy()
        np.testing.assert_allclose(template_box[:2] + template_box[2:] / 2, [24, 24], atol=1e-3)
        assert template_box[2] * template_box[3] == pytest.approx(24 * 24, rel=1e-3)


def test_search_jitter_moves_the_target_off_centre(dataset):
    still = CropSpec(output_size=(64, 64), area_scale=4.0)
    jittered = CropSpec(output_size=(64, 64), area_scale=4.0, center_jitter=2.0, scale_jitter=0.25)
    centred = PairSampler(dataset, template=still, search=still, seed=0)
    moved = PairSampler(dataset, template=still, search=jittered, seed=0)
    centre = lambda item: item["search_box"][:2] + item["search_box"][2:] / 2
    offsets_still = [float((centre(centred[i]) - 32).abs().max()) for i in range(20)]
    offsets_moved = [float((centre(moved[i]) - 32).abs().max()) for i in range(20)]
    assert max(offsets_still) < 1e-3
    assert max(offsets_moved) > 4.0


def test_invisible_and_unknown_frames_are_never_sampled():
    sequence = moving_square_sequence("gaps", 5, length=12, invisible_frames=(2, 3, 4, 5, 6, 7, 8, 9))
    sequence.boxes[10] = np.nan  # unknown box
    sampler = PairSampler(Dataset("gaps", [sequence]), template=CropSpec((32, 32)), search=CropSpec((32, 32)),
                          max_gap=20, seed=0)
    used = set()
    for index in range(40):
        item = sampler[index]
        used.add(int(item["frame_gap"]))
    # usable frames are 0, 1 and 11: gaps 1, 10, 11 only
    assert used <= {1, 10, 11} and used


def test_negative_pairs_and_no_masks(dataset):
    sampler = PairSampler(dataset, template=CropSpec((32, 32)), search=CropSpec((64, 64)), seed=0,
                          negative_probability=1.0, masks=False)
    item = sampler[0]
    assert float(item["positive"]) == 0.0 and "search_mask" not in item


def test_sequence_sampler_gives_sorted_frames_with_labels(dataset):
    sampler = SequenceSampler(dataset, crop=CropSpec((40, 64), area_scale=3.0, center_jitter=0.5),
                              num_frames=4, max_gap=6, seed=2)
    item = sampler[5]
    assert item["frames"].shape == (4, 3, 40, 64) and item["masks"].shape == (4, 1, 40, 64)
    indices = item["frame_indices"].tolist()
    assert indices == sorted(indices) and len(set(indices)) == 4
    assert max(indices) - min(indices) <= 12
    for frame in range(4):
        np.testing.assert_allclose(_mask_box(item["masks"][frame]), item["boxes"][frame].numpy(), atol=2.0)
    assert torch.equal(sampler[5]["frames"], item["frames"])


def test_works_with_a_dataloader_and_an_index_stream(dataset):
    sampler = PairSampler(dataset, template=CropSpec((32, 32)), search=CropSpec((64, 64)), seed=0)
    loader = DataLoader(sampler, batch_size=4, sampler=IndexStream(8), num_workers=0)
    batch = next(iter(loader))
    assert batch["search"].shape == (4, 3, 64, 64)
    assert torch.equal(batch["search"][1], sampler[9]["search"])


def test_worker_processes_give_the_same_batches(dataset):
    sampler = PairSampler(dataset, template=CropSpec((32, 32)), search=CropSpec((64, 64), center_jitter=1.0), seed=4)
    batches = [
        next(iter(DataLoader(sampler, batch_size=4, sampler=IndexStream(12), num_workers=workers)))
        for workers in (0, 2)
    ]
    for key in batches[0]:
        assert torch.equal(batches[0][key], batches[1][key]), key


def test_bad_settings_are_rejected(dataset):
    with pytest.raises(ValueError, match="-1"):
        PairSampler(dataset, template=CropSpec((32, 32)), search=CropSpec((32, 32)), max_gap=-1)
    with pytest.raises(ValueError, match="0"):
        CropSpec((32, 32), area_scale=0)
    with pytest.raises(ValueError, match="masks"):
        PairSampler([moving_square_sequence("a", 0)] and Dataset("none", []), template=CropSpec((8, 8)),
                    search=CropSpec((8, 8)), masks=True)
