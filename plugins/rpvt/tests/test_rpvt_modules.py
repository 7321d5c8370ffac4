"""Shapes of RPVT's modules, the top-k matching against a brute-force loop, bad input."""

from __future__ import annotations

import pytest
import torch
from trackerzoo_rpvt.model import CSCRRefinement, D3SRefinement, RpvtNet, topk_similarity
from trackerzoo_rpvt.model.network import MODEL_CONFIGS, distance_map


def brute_force_topk(search, reference, mask, k):
    """Per search pixel: cosine similarity with every reference pixel, masked, k largest averaged."""
    b, _c, h, w = search.shape
    fg = torch.zeros(b, h, w, dtype=search.dtype)
    bg = torch.zeros(b, h, w, dtype=search.dtype)
    for n in range(b):
        for i in range(h):
            for j in range(w):
                sims_fg, sims_bg = [], []
                q = search[n, :, i, j].tolist()
                for u in range(reference.shape[2]):
                    for v in range(reference.shape[3]):
                        r = reference[n, :, u, v].tolist()
                        dot = sum(a * b for a, b in zip(q, r, strict=False))
                        cos = dot / (sum(a * a for a in q) ** 0.5 * sum(b * b for b in r) ** 0.5)
                        m = float(mask[n, 0, u, v])
                        sims_fg.append(cos * m)
                        sims_bg.append(cos * (1 - m))
                fg[n, i, j] = sum(sorted(sims_fg, reverse=True)[:k]) / k
                bg[n, i, j] = sum(sorted(sims_bg, reverse=True)[:k]) / k
    return fg, bg


def test_topk_matching_equals_brute_force():
    g = torch.Generator().manual_seed(3)
    search = torch.randn(1, 5, 2, 3, generator=g, dtype=torch.float64)
    reference = torch.randn(1, 5, 3, 3, generator=g, dtype=torch.float64)
    mask = (torch.rand(1, 1, 3, 3, generator=g) > 0.5).double()
    fg, bg = topk_similarity(search, reference, mask, 3)
    ref_fg, ref_bg = brute_force_topk(search, reference, mask, 3)
    torch.testing.assert_close(fg, ref_fg)
    torch.testing.assert_close(bg, ref_bg)
    assert fg.shape == (1, 2, 3)


def test_topk_matching_rejects_bad_input():
    x = torch.randn(1, 4, 3, 3)
    with pytest.raises(ValueError, match="k must be"):
        topk_similarity(x, x, torch.ones(1, 1, 3, 3), 10)
    with pytest.raises(ValueError, match="mask must be"):
        topk_similarity(x, x, torch.ones(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="search/reference"):
        topk_similarity(x, torch.randn(1, 5, 3, 3), torch.ones(1, 1, 3, 3), 3)


@pytest.mark.parametrize("mode", ["cscr", "ms"])
@pytest.mark.parametrize("fusion", ["weighted", "last"])
def test_multi_stage_pathways_give_three_stage_masks_and_a_final_one(mode, fusion):
    torch.manual_seed(0)
    net = CSCRRefinement((6, 7, 8), (4, 5, 6, 7), mode=mode, fusion=fusion).eval()
    skips = [torch.randn(2, 6, 16, 16), torch.randn(2, 7, 8, 8), torch.randn(2, 8, 4, 4)]
    out = net(torch.randn(2, 7, 2, 2), skips)
    assert out["logits"].shape == (2, 2, 32, 32)
    assert len(out["stages"]) == 3 and all(s.shape == (2, 2, 32, 32) for s in out["stages"])
    if fusion == "last":
        torch.testing.assert_close(out["logits"], out["stages"][-1])
    else:  # learned weights start equal: the mean of the stage logits
        torch.testing.assert_close(out["logits"], sum(out["stages"]) / 3)


def test_attention_changes_stages_two_and_three_only():
    torch.manual_seed(0)
    on = CSCRRefinement((6, 7, 8), (4, 5, 6, 7), attention=True).eval()
    off = CSCRRefinement((6, 7, 8), (4, 5, 6, 7), attention=False).eval()
    off.load_state_dict(on.state_dict())
    skips = [torch.randn(1, 6, 16, 16), torch.randn(1, 7, 8, 8), torch.randn(1, 8, 4, 4)]
    top = torch.randn(1, 7, 2, 2)
    a, b = on(top, skips)["stages"], off(top, skips)["stages"]
    torch.testing.assert_close(a[0], b[0])
    assert not torch.allclose(a[1], b[1]) and not torch.allclose(a[2], b[2])


def test_cscr_stage_three_sees_the_backbone_and_both_earlier_stages():
    """Eq. 1: perturbing only the backbone skip at level 0 changes every stage's mask."""
    torch.manual_seed(0)
    net = CSCRRefinement((6, 7, 8), (4, 5, 6, 7), attention=False).eval()
    skips = [torch.randn(1, 6, 16, 16), torch.randn(1, 7, 8, 8), torch.randn(1, 8, 4, 4)]
    top = torch.randn(1, 7, 2, 2)
    base = net(top, skips)["stages"]
    skips[0] = skips[0] + 1.0
    moved = net(top, skips)["stages"]
    assert all(not torch.allclose(x, y) for x, y in zip(base, moved, strict=False))


def test_d3s_refinement_has_the_official_names_and_shapes():
    net = D3SRefinement((64, 256, 512))
    names = {k.split(".")[0] for k in net.state_dict()}
    assert names == {"s0", "s1", "s2", "s3", "f0", "f1", "f2", "post0", "post1", "post2"}
    assert net.post0[0].weight.shape == (2, 4, 3, 3) and net.s3[0].weight.shape == (32, 64, 3, 3)


@pytest.mark.parametrize("refinement", ["d3s", "ms", "cscr"])
def test_network_output_is_at_the_crop_resolution(refinement):
    torch.manual_seed(0)
    net = RpvtNet(MODEL_CONFIGS["mobilenetv2"], refinement).eval()
    images = torch.rand(1, 3, 64, 64)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 20:40, 20:40] = 1
    with torch.no_grad():
        out = net(images, mask, images, distance_map((64, 64), torch.tensor([[32.0, 32.0]])))
    assert out["logits"].shape == (1, 2, 64, 64)
    assert torch.isfinite(out["logits"]).all()


def test_network_rejects_bad_input():
    with pytest.raises(ValueError, match="refinement must be"):
        RpvtNet(MODEL_CONFIGS["mobilenetv2"], "unet")
    net = RpvtNet(MODEL_CONFIGS["mobilenetv2"], "d3s")
    with pytest.raises(ValueError, match="multiple of 16"):
        net.features(torch.rand(1, 3, 60, 64))
    with pytest.raises(ValueError, match="mode must be"):
        CSCRRefinement((1, 1, 1), mode="dense")
    with pytest.raises(ValueError, match="fusion must be"):
        CSCRRefinement((1, 1, 1), fusion="max")
