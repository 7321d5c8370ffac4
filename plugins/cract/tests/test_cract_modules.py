"""Shapes of every CRACT module, and the discriminator's closed-form Jacobian products."""

from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap
from trackerzoo_cract.model import CractNet, Discriminator
from trackerzoo_cract.model.heads import BoxRegressor, Identifier
from trackerzoo_cract.model.pyramid import PyramidRoiPooling
from trackerzoo_cract.model.rpn import SiameseRpn


def test_pyramid_pooling_gives_6x6_3x3_1x1_per_proposal():
    pooling = PyramidRoiPooling((6, 3, 1), stride=8)
    features = torch.randn(2, 16, 32, 32)
    boxes = torch.tensor([[128.0, 128, 64, 40], [60, 90, 30, 30], [200, 200, 50, 80]])
    levels = pooling(features, boxes, torch.tensor([0, 1, 1]))
    assert [tuple(level.shape) for level in levels] == [(3, 16, 6, 6), (3, 16, 3, 3), (3, 16, 1, 1)]
    assert pooling.positions == 46
    # The 1x1 level is the mean of the region: a constant map pools to that constant.
    constant = torch.full((1, 16, 32, 32), 2.5)
    assert torch.allclose(pooling(constant, boxes[:1], torch.tensor([0]))[2], torch.full((1, 16, 1, 1), 2.5))


def test_rpn_head_outputs_two_scores_and_four_offsets_per_anchor():
    rpn = SiameseRpn(channels=32, num_anchors=5).eval()
    kernels = rpn.kernels(torch.randn(2, 32, 7, 7))
    output = rpn(kernels, torch.randn(2, 32, 31, 31))
    assert output.scores.shape == (2, 10, 25, 25)
    assert output.offsets.shape == (2, 20, 25, 25)
    assert output.flat_scores().shape == (2, 5 * 25 * 25, 2)
    assert output.flat_offsets().shape == (2, 5 * 25 * 25, 4)
    # Anchor a of cell (i, j) reads channel a of the score block and channel 5 + a of the other class.
    assert output.flat_scores()[1, 3 * 625 + 4 * 25 + 7, 1] == output.scores[1, 5 + 3, 4, 7]


def test_regressor_and_identifier_compare_each_proposal_with_the_initial_feature():
    proposal = (torch.randn(7, 16, 6, 6), torch.randn(7, 16, 3, 3), torch.randn(7, 16, 1, 1))
    initial = tuple(level[:1] for level in proposal)
    offsets = BoxRegressor(16, 46, 8, 32)(proposal, initial)
    logits = Identifier(16, 46, 8, 32)(proposal, initial)
    assert offsets.shape == (7, 4) and logits.shape == (7, 2)
    probabilities = Identifier.target_probability(logits)
    assert probabilities.shape == (7,) and bool(((probabilities > 0) & (probabilities < 1)).all())


def test_crac_cascade_shapes_and_alignment_uses_the_regressed_boxes(config):
    network = CractNet(config).eval()
    with torch.no_grad():
        template = network.embed_template(torch.rand(1, 3, 127, 127), torch.tensor([[63.5, 63.5, 40.0, 30.0]]))
        maps = network.search_features(torch.rand(1, 3, 255, 255))
        rpn = network.propose(template.kernels, maps)
        size = rpn.scores.shape[-1]
        assert rpn.scores.shape == (1, 10, size, size)
        assert network.anchors(size, 255).shape == (5 * size * size, 4)
        proposals = torch.tensor([[127.5, 127.5, 40, 30], [80, 100, 50, 50], [170, 150, 30, 60]])
        index = torch.zeros(3, dtype=torch.long)
        aligned = network.refine(maps.phi34, proposals, index, template.initial, align=True)
        parallel = network.refine(maps.phi34, proposals, index, template.initial, align=False)
    assert aligned.offsets.shape == (3, 4) and aligned.boxes.shape == (3, 4)
    assert aligned.identity_logits.shape == (3, 2)
    assert [tuple(level.shape[1:]) for level in aligned.features] == [
        (config.fused_channels, 6, 6), (config.fused_channels, 3, 3), (config.fused_channels, 1, 1)
    ]
    # Same regression either way; only the classified features differ (Eq. 5 vs Eq. 1).
    assert torch.equal(aligned.offsets, parallel.offsets)
    expected = network.pooling(maps.phi34, aligned.boxes, index)
    assert all(torch.equal(a, b) for a, b in zip(aligned.features, expected, strict=True))
    assert not torch.equal(aligned.features[0], parallel.features[0])


def _autograd_jacobian(discriminator, samples):
    parameters = discriminator.fitted_parameters(samples)
    names = [name for name, p in discriminator.named_parameters() if any(p is q for q in parameters)]
    values = {name: dict(discriminator.named_parameters())[name].detach() for name in names}

    def one(params, sample):
        batched = tuple(t.unsqueeze(0) for t in sample) if isinstance(sample, tuple) else sample.unsqueeze(0)
        return functional_call(discriminator, params, (batched,)).squeeze(0)

    grads = vmap(jacrev(one), in_dims=(None, 0))(values, samples)
    count = next(iter(grads.values())).shape[0]
    return torch.cat([grads[name].reshape(count, -1) for name in names], dim=1)


def _check_products(linearization, jacobian, generator):
    """``J v`` and ``J^T u`` of the closed form against an explicit autograd Jacobian."""
    tangents = [torch.randn(shape, generator=generator) for shape in linearization.shapes]
    flat = torch.cat([t.reshape(-1) for t in tangents])
    assert torch.allclose(linearization.maps.jvp(tangents), jacobian @ flat, atol=1e-5)
    cotangent = torch.randn(jacobian.shape[0], generator=generator)
    back = linearization.maps.vjp(cotangent)
    assert [tuple(b.shape) for b in back] == [tuple(s) for s in linearization.shapes]
    assert torch.allclose(torch.cat([b.reshape(-1) for b in back]), jacobian.T @ cotangent, atol=1e-5)


class _Case:
    def __init__(self, discriminator, samples):
        self.maps = discriminator.linearize(samples)
        self.shapes = [p.shape for p in discriminator.fitted_parameters(samples)]


def test_discriminator_scores_and_closed_form_jacobian_products_match_autograd():
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(2)
    discriminator = Discriminator(channels=6, positions=46, conv_channels=3, hidden=5)
    samples = (torch.randn(9, 6, 6, 6), torch.randn(9, 6, 3, 3), torch.randn(9, 6, 1, 1))
    full = _Case(discriminator, samples)
    assert full.maps.scores.shape == (9,)
    assert torch.allclose(full.maps.scores, discriminator(samples), atol=1e-6)
    jacobian = _autograd_jacobian(discriminator, samples)
    assert jacobian.shape == (9, sum(p.numel() for p in discriminator.parameters()))
    _check_products(full, jacobian, generator)
    projected = discriminator.project(samples)
    fc = _Case(discriminator, projected)
    fc_jacobian = _autograd_jacobian(discriminator, projected)
    assert fc_jacobian.shape == (9, sum(p.numel() for p in discriminator.fitted_parameters(projected)))
    assert torch.allclose(fc.maps.scores, full.maps.scores, atol=1e-6)
    _check_products(fc, fc_jacobian, generator)
