"""STA, the box-to-mask network RTS uses to turn the first box into a mask (paper Sec. 3.1).

The official ``sta.pth.tar`` is an LWL network with box encoders (pytracking
``ltr/models/lwl/sta_net.py``): the box is rasterised on the crop and encoded together
with the target-model features (``label_encoder`` -> E(box), ``bbox_encoder`` -> label and
weights for a first few-shot fit), a first target model segments the crop from
``[E(box), T_1(x_s)]``, the predicted mask is re-encoded (``segm_encoder``) to fit a second
target model, and the same decoder segments again from ``[E(box), T_2(x_s)]``: the output.
Module names follow the official network so its checkpoint converts strictly.
"""

from __future__ import annotations

import torch
from torch import nn

from trackerzoo.nn.backbones import build_backbone
from trackerzoo_rts.model.blocks import ResidualBlock, conv_block, he_normal_
from trackerzoo_rts.model.decoder import SegmentationDecoder
from trackerzoo_rts.model.label_encoder import MaskEncoder
from trackerzoo_rts.model.network import normalize_input
from trackerzoo_rts.model.target_models import SegmentationLearner, SegmentationTargetModel
from trackerzoo_rts.params import ModelConfig


def box_mask(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Rectangles ``[B, 1, H, W]`` of ``boxes [B, 4]`` (x, y, w, h), corners rounded as the official encoder does."""
    mask = boxes.new_zeros(boxes.shape[0], 1, *size)
    for index, box in enumerate(boxes.tolist()):
        x, y, w, h = (int(v) for v in box)
        x, y, w, h = int(x + 0.5), int(y + 0.5), int(w + 0.5), int(h + 0.5)
        mask[index, :, max(0, y):y + h, max(0, x):x + w] = 1.0
    return mask


class BoxEncoder(nn.Module):
    """``(box, x_s) -> (label encoding, weights)`` at stride 16 (official ``ResidualDS16FeatSWBox``, no Gaussian).

    ``layer_dims`` (16, 32, 64, 128, 16); the box mask is encoded like a mask, concatenated with
    the features ``[B, feature_dim, h, w]`` and passed through a third residual block.
    """

    def __init__(self, layer_dims: tuple[int, int, int, int, int], feature_dim: int) -> None:
        super().__init__()
        c0, c1, c2, c3, out = layer_dims
        self.conv_block = conv_block(1, c0, 3, stride=2, padding=1, batch_norm=False)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res1 = ResidualBlock(c0, c1, 2, nn.Conv2d(c0, c1, 3, padding=1, stride=2), use_bn=False)
        self.res2 = ResidualBlock(c1, c2, 2, nn.Conv2d(c1, c2, 3, padding=1, stride=2), use_bn=False)
        self.res3 = ResidualBlock(c2 + feature_dim, c3, 1, nn.Conv2d(c2 + feature_dim, c3, 3, padding=1),
                                  use_bn=False)
        self.label_pred = conv_block(c3, out, 3, stride=1, padding=1, batch_norm=True)
        self.samp_w_pred = nn.Conv2d(c3, out, 3, padding=1)
        he_normal_(self)
        nn.init.zeros_(self.samp_w_pred.weight)
        nn.init.ones_(self.samp_w_pred.bias)

    def forward(self, boxes: torch.Tensor, feat: torch.Tensor, size: tuple[int, int]):
        encoded = self.res2(self.res1(self.pool(self.conv_block(box_mask(boxes, size)))))
        out = self.res3(torch.cat([encoded, feat], dim=1))
        return self.label_pred(out), self.samp_w_pred(out)


class _SecondTargetModel(nn.Module):
    """The second target model (official ``target_model_segm``): a learner on the same features."""

    def __init__(self, init_filter_reg: float, num_iters: int) -> None:
        super().__init__()
        self.filter_optimizer = SegmentationLearner(init_filter_reg, num_iters)


class StaNet(nn.Module):
    """Box -> mask logits on a crop. ``config``: the RTS variant whose backbone layers it shares."""

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool = False,
                 box_encoder_dims: tuple[int, int, int, int] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.config = config
        layers = sorted({config.segmentation_layer, *config.decoder_layers})
        options = {"style": "mrcnn"} if config.backbone == "resnet50" else {}
        self.feature_extractor = build_backbone(config.backbone, output_layers=layers,
                                                pretrained=pretrained_backbone, **options)
        channels = self.feature_extractor.out_channels
        filters, dim = config.num_filters, config.feature_dim
        self.target_model = SegmentationTargetModel(channels[config.segmentation_layer], dim, filters,
                                                    config.filter_size, config.init_filter_reg, config.num_iters)
        self.target_model_segm = _SecondTargetModel(config.init_filter_reg, config.num_iters)
        self.label_encoder = BoxEncoder((*box_encoder_dims, filters), dim)
        self.bbox_encoder = BoxEncoder((*box_encoder_dims, filters), dim)
        self.segm_encoder = MaskEncoder((*box_encoder_dims[:3], filters), stride=2)
        self.decoder = SegmentationDecoder(2 * filters, config.decoder_width,
                                           {name: channels[name] for name in config.decoder_layers})

    def forward(self, crops: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``crops [B, 3, H, W]`` RGB in [0, 1], ``boxes [B, 4]`` (crop px) -> (first, final) logits.

        Both logits are ``[B, 1, H, W]``; the tracker uses the final one.
        """
        size = (crops.shape[-2], crops.shape[-1])
        levels = self.feature_extractor(normalize_input(crops, self.config.input_normalization))
        feat = self.target_model.features(levels[self.config.segmentation_layer])
        box_encoding, _ = self.label_encoder(boxes, feat, size)
        labels, weights = self.bbox_encoder(boxes, feat, size)
        seq_feat = feat.unsqueeze(1)  # every crop is its own sequence of one frame
        first_filter = self.target_model.filter_optimizer(
            self.target_model.zero_filter(seq_feat), seq_feat, labels.unsqueeze(1), weights.unsqueeze(1))[-1]
        scores = self.target_model.apply(first_filter, seq_feat)[:, 0]
        first = self.decoder(torch.cat([box_encoding, scores], dim=1), levels, size)
        labels, weights = self.segm_encoder(torch.sigmoid(first))
        second_filter = self.target_model_segm.filter_optimizer(
            self.target_model.zero_filter(seq_feat), seq_feat, labels.unsqueeze(1), weights.unsqueeze(1))[-1]
        scores = self.target_model.apply(second_filter, seq_feat)[:, 0]
        final = self.decoder(torch.cat([box_encoding, scores], dim=1), levels, size)
        return first, final
