import math

import numpy as np
import pytest
import torch

from trackerzoo.patches import (
    PatchTransform,
    fit_crop_to_image,
    sample_patches,
    search_region_size,
    siamese_crop_side,
)


def _ramp_image(height: int, width: int, batch: int = 1) -> torch.Tensor:
    """Channel 0 holds the column index, channel 1 the row index, channel 2 their sum.

    Value at pixel centre (j + 0.5, i + 0.5) is j (resp. i), so bilinear sampling at any
    in-image point (x, y) returns exactly x - 0.5 (resp. y - 0.5).
    """
    cols = torch.arange(width, dtype=torch.float64).expand(height, width)
    rows = torch.arange(height, dtype=torch.float64)[:, None].expand(height, width)
    return torch.stack([cols, rows, cols + rows])[None].repeat(batch, 1, 1, 1)


def _patch_pixel_centres(out_h: int, out_w: int, batch: int) -> torch.Tensor:
    v, u = torch.meshgrid(torch.arange(out_h) + 0.5, torch.arange(out_w) + 0.5, indexing="ij")
    return torch.stack([u, v], dim=-1).reshape(1, -1, 2).double().expand(batch, -1, -1)


def test_identity_crop_reproduces_image():
    image = torch.rand(1, 3, 12, 16, dtype=torch.float64)
    patches, transform = sample_patches(image, [[8.0, 6.0]], [[16.0, 12.0]], (12, 16))
    torch.testing.assert_close(patches, image)
    torch.testing.assert_close(transform.origin, torch.zeros(1, 2, dtype=torch.float64))


def test_half_resolution_crop_hand_computed():
    image = _ramp_image(8, 8)
    # crop [2, 6) x [2, 6) to 2x2: patch pixel u reads image x = 2 + (u + 0.5) * 2 = 3, 5
    patches, _ = sample_patches(image, [[4.0, 4.0]], [[4.0, 4.0]], (2, 2), antialias=False)
    torch.testing.assert_close(patches[0, 0], torch.tensor([[2.5, 4.5], [2.5, 4.5]], dtype=torch.float64))
    torch.testing.assert_close(patches[0, 1], torch.tensor([[2.5, 2.5], [4.5, 4.5]], dtype=torch.float64))


@pytest.mark.parametrize("antialias", [False, True])
def test_sampled_values_agree_with_patch_to_image(antialias):
    """On a linear image, every patch pixel must hold the image value where the transform says it came from."""
    gen = torch.Generator().manual_seed(0)
    batch, height, width = 4, 120, 160
    image = _ramp_image(height, width, batch)
    sizes = torch.rand(batch, 2, generator=gen, dtype=torch.float64) * 60 + 20
    centers = torch.rand(batch, 2, generator=gen, dtype=torch.float64) * 40 + torch.tensor([55.0, 40.0])
    out_h, out_w = (7, 9) if antialias else (23, 31)
    patches, transform = sample_patches(image, centers, sizes, (out_h, out_w), antialias=antialias)
    where = transform.patch_to_image(_patch_pixel_centres(out_h, out_w, batch))  # [B, h*w, 2]
    expected_x = (where[..., 0] - 0.5).reshape(batch, out_h, out_w)
    expected_y = (where[..., 1] - 0.5).reshape(batch, out_h, out_w)
    torch.testing.assert_close(patches[:, 0], expected_x, atol=1e-6, rtol=0)
    torch.testing.assert_close(patches[:, 1], expected_y, atol=1e-6, rtol=0)


def test_transform_round_trips_points_and_boxes():
    gen = torch.Generator().manual_seed(1)
    transform = PatchTransform(
        origin=torch.randn(3, 2, generator=gen, dtype=torch.float64) * 50,
        crop_size=torch.rand(3, 2, generator=gen, dtype=torch.float64) * 100 + 10,
        patch_size=(30, 52),
    )
    points = torch.randn(3, 5, 2, generator=gen, dtype=torch.float64) * 80
    torch.testing.assert_close(transform.patch_to_image(transform.image_to_patch(points)), points)
    torch.testing.assert_close(transform.image_to_patch(transform.patch_to_image(points)), points)
    boxes = torch.rand(3, 4, generator=gen, dtype=torch.float64) * 40
    torch.testing.assert_close(transform.patch_to_image_boxes(transform.image_to_patch_boxes(boxes)), boxes)
    torch.testing.assert_close(transform.image_to_patch_boxes(transform.patch_to_image_boxes(boxes)), boxes)
    # numpy in, numpy out
    as_np = transform.image_to_patch(points.numpy())
    assert isinstance(as_np, np.ndarray)
    np.testing.assert_allclose(as_np, transform.image_to_patch(points).numpy())


def test_transform_hand_computed_box():
    transform = PatchTransform(torch.tensor([[10.0, 20.0]]), torch.tensor([[100.0, 50.0]]), (25, 50))
    # scale 0.5 in both axes; box (30, 30, 20, 10) -> ((30-10)*.5, (30-20)*.5, 10, 5)
    torch.testing.assert_close(
        transform.image_to_patch_boxes(torch.tensor([[30.0, 30.0, 20.0, 10.0]])),
        torch.tensor([[10.0, 5.0, 10.0, 5.0]]),
    )
    torch.testing.assert_close(transform.center, torch.tensor([[60.0, 45.0]]))
    with pytest.raises(ValueError, match="points"):
        transform.image_to_patch(torch.zeros(2, 2))


def test_replicate_pads_with_edge_pixels():
    image = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4).repeat(1, 3, 1, 1)
    # Crop [-4, 4) x [0, 4) at full resolution: left half outside -> column 0 replicated.
    patches, _ = sample_patches(image, [[0.0, 2.0]], [[8.0, 4.0]], (4, 8))
    torch.testing.assert_close(patches[0, 0, :, :4], image[0, 0, :, :1].expand(4, 4))
    torch.testing.assert_close(patches[0, 0, :, 4:], image[0, 0])


def test_inside_modes_hand_computed():
    centers = torch.tensor([[10.0, 10.0], [10.0, 10.0], [90.0, 70.0]], dtype=torch.float64)
    sizes = torch.tensor([[40.0, 40.0], [200.0, 100.0], [200.0, 100.0]], dtype=torch.float64)
    origin, size = fit_crop_to_image(centers, sizes, (100, 80), "inside")
    torch.testing.assert_close(size, torch.tensor([[40.0, 40.0], [100.0, 50.0], [100.0, 50.0]], dtype=torch.float64))
    torch.testing.assert_close(origin, torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 30.0]], dtype=torch.float64))
    origin, size = fit_crop_to_image(centers, sizes, (100, 80), "inside_major")
    # overshoot (2, 1.25): shrink by 1.25 -> (160, 80); x does not fit -> centred at -30
    torch.testing.assert_close(size[1], torch.tensor([160.0, 80.0], dtype=torch.float64))
    torch.testing.assert_close(origin[1], torch.tensor([-30.0, 0.0], dtype=torch.float64))
    origin, size = fit_crop_to_image(centers, sizes, (100, 80), "inside", max_scale_change=1.5)
    torch.testing.assert_close(size[1], torch.tensor([200 / 1.5, 100 / 1.5], dtype=torch.float64))


def test_inside_patches_contain_only_image_pixels():
    image = torch.rand(1, 3, 50, 60, dtype=torch.float64) + 1.0
    patches, transform = sample_patches(image, [[5.0, 45.0]], [[80.0, 80.0]], (16, 16), border_mode="inside")
    corners = transform.patch_to_image(torch.tensor([[[0.0, 0.0], [16.0, 16.0]]], dtype=torch.float64))
    assert corners.min() >= 0 and corners[0, 1, 0] <= 60 and corners[0, 1, 1] <= 50
    torch.testing.assert_close(transform.crop_size, torch.tensor([[50.0, 50.0]], dtype=torch.float64))
    assert patches.shape == (1, 3, 16, 16)


def test_one_image_many_crops_and_gradients():
    image = torch.rand(1, 3, 20, 20, dtype=torch.float64, requires_grad=True)
    centers = torch.tensor([[10.0, 10.0], [5.0, 5.0], [15.0, 12.0]])
    patches, transform = sample_patches(image, centers, torch.full((3, 2), 8.0), 8)
    assert patches.shape == (3, 3, 8, 8) and transform.batch_size == 3
    patches.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    torch.testing.assert_close(transform[1].center, centers[1:2])


def test_bad_inputs_raise_value_errors():
    image = torch.rand(1, 3, 10, 10)
    with pytest.raises(ValueError, match="border_mode"):
        sample_patches(image, [[5.0, 5.0]], [[4.0, 4.0]], 4, border_mode="zeros")
    with pytest.raises(ValueError, match="output_size"):
        sample_patches(image, [[5.0, 5.0]], [[4.0, 4.0]], (0, 4))
    with pytest.raises(ValueError, match="sizes must be positive"):
        sample_patches(image, [[5.0, 5.0]], [[-4.0, 4.0]], 4)
    with pytest.raises(ValueError, match="float tensor"):
        sample_patches(torch.zeros(1, 3, 10, 10, dtype=torch.uint8), [[5.0, 5.0]], [[4.0, 4.0]], 4)


def test_search_region_sizes_hand_computed():
    torch.testing.assert_close(search_region_size(torch.tensor([20.0, 80.0]), 5.0, 288), torch.tensor([200.0, 200.0]))
    rts = search_region_size(torch.tensor([[20.0, 80.0]]), 6.0, (480, 832))
    assert rts[0, 0] * rts[0, 1] == pytest.approx(240.0**2)
    assert rts[0, 0] / rts[0, 1] == pytest.approx(832 / 480)
    assert float(siamese_crop_side(torch.tensor([100.0, 100.0]))) == pytest.approx(200.0)
    assert float(siamese_crop_side(torch.tensor([100.0, 100.0]), instance_size=255)) == pytest.approx(200.0 * 255 / 127)
    with pytest.raises(ValueError, match="positive"):
        search_region_size(torch.tensor([0.0, 3.0]), 5.0, 288)


@pytest.mark.cuda
def test_sample_patches_on_cuda_matches_cpu():
    image = torch.rand(2, 3, 40, 50)
    centers = torch.tensor([[20.0, 20.0], [3.0, 30.0]])
    sizes = torch.tensor([[30.0, 20.0], [25.0, 25.0]])
    cpu, _ = sample_patches(image, centers, sizes, (16, 16), border_mode="inside")
    gpu, transform = sample_patches(image.cuda(), centers.cuda(), sizes.cuda(), (16, 16), border_mode="inside")
    assert transform.origin.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)
    assert math.isfinite(float(gpu.sum()))


def test_paste_inverts_sampling_inside_the_crop():
    from trackerzoo.patches import paste_patches

    image = _ramp_image(30, 40)
    # Same resolution crop (scale 1, pixel-aligned): pasting back reproduces the covered pixels exactly.
    patches, transform = sample_patches(image, [[20.0, 15.0]], [[16.0, 10.0]], (10, 16))
    pasted = paste_patches(patches, transform, (30, 40), fill=-1.0)
    torch.testing.assert_close(pasted[:, :, 10:20, 12:28], image[:, :, 10:20, 12:28])
    assert torch.all(pasted[:, :, :10] == -1.0) and torch.all(pasted[:, :, :, :12] == -1.0)
    assert torch.all(pasted[:, :, 20:] == -1.0) and torch.all(pasted[:, :, :, 28:] == -1.0)


def test_paste_of_upsampled_linear_patch_is_linear():
    from trackerzoo.patches import paste_patches

    image = _ramp_image(60, 80)
    patches, transform = sample_patches(image, [[41.3, 29.7]], [[20.0, 12.0]], (48, 80), antialias=False)
    pasted = paste_patches(patches, transform, (60, 80), fill=float("nan"))
    inside = ~torch.isnan(pasted[0, 0])
    cols = torch.arange(80, dtype=torch.float64).expand(60, 80)
    # Interior pixels (away from the patch border, where border padding clamps) are exact.
    rows_in = inside.any(dim=1).nonzero().flatten()
    cols_in = inside.any(dim=0).nonzero().flatten()
    core = (slice(int(rows_in[1]), int(rows_in[-1])), slice(int(cols_in[1]), int(cols_in[-1])))
    torch.testing.assert_close(pasted[0, 0][core], cols[core], atol=1e-6, rtol=0)
    assert int(inside.sum()) == 20 * 12  # pixel centres inside a 20 x 12 crop
