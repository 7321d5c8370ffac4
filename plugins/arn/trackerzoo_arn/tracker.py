"""ARN / OceanPlus tracking (ARN paper Fig. 2 and Sec. 3.3; TracKit ``lib/tracker/oceanplus.py``).

    initialize(frame, box or mask):
        crop template z (127, context 0.5) around the target -> kernel, LUT addresses
        mask given:  LUT values = the mask cropped like z                        (direct)
        box only:    LUT values = 1 inside the box; r times: segment frame 1 with
                     the LUT, refill the LUT with the predicted mask               (cyclic, r = 3)
    track(frame):
        crop search x (255, or 287 for small targets) around the last position
        Ocean head -> score map s, l,t,r,b maps -> boxes at every cell
        choose argmax (1 - w) s * penalty + w * hann; move the centre there,
        move the size by lr * penalty * s (applied twice, as the public code)
        MMS with ARN attention -> 3 stage masks, fused 0.33 each -> paste into the frame
        mask = probability > threshold; rotated box fitted to the mask
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from trackerzoo import Prediction, Tracker
from trackerzoo.geometry import box_to_mask, mask_to_rotated_box
from trackerzoo.geometry.anchor_free import choose_on_map, decode_ltrb, score_map_points, smooth_size
from trackerzoo.patches import paste_patches, sample_patches, siamese_crop_side
from trackerzoo_arn.loading import build_network
from trackerzoo_arn.model.network import ArnOutput, TemplateState
from trackerzoo_arn.params import DEFAULT_VARIANT, ArnParams, mask_threshold_for


@dataclasses.dataclass
class TargetState:
    centre: np.ndarray  # (x, y) pixels
    size: np.ndarray  # (w, h) pixels


class ArnTracker(Tracker):
    """OceanPlus: box from the anchor-free head, mask from MMS with attention retrieval."""

    Params = ArnParams
    outputs = frozenset({"box", "mask"})

    def __init__(self, params: ArnParams | None = None, *, variant: str | None = DEFAULT_VARIANT,
                 weights: str | None = "default", device: torch.device | str = "cpu") -> None:
        super().__init__(params, variant=variant or DEFAULT_VARIANT, weights=weights, device=device)
        self.network = build_network(self.variant, weights, self.device,
                                     generator=torch.Generator().manual_seed(self.params.seed))
        for module in (self.network.connect_model.cls_dw, self.network.connect_model.reg_dw,
                       self.network.mask_model.sequential):
            module.backend = self.params.ops_backend
        p = self.params
        self.penalty_k = p.resolved("penalty_k")
        self.window_influence = p.resolved("window_influence")
        self.lr = p.resolved("lr")
        self.mask_threshold = mask_threshold_for(p, self.variant)
        self.first_frame_masks: list[np.ndarray] = []  # LUT masks of the cyclic initialisation (template crop)

    # -- crops -------------------------------------------------------------------------------
    def _image(self, frame: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(frame)).to(self.device).permute(2, 0, 1)[None].float() / 255.0

    def _crop(self, image: torch.Tensor, side: float, output_size: int):
        centre = torch.tensor(self.state.centre, dtype=torch.float64).view(1, 2)
        size = torch.tensor([side, side], dtype=torch.float64).view(1, 2)
        return sample_patches(image, centre, size, output_size, "replicate")

    def _template_side(self) -> float:
        return float(siamese_crop_side(torch.tensor(self.state.size, dtype=torch.float64),
                                       self.params.context_amount, self.params.template_size))

    def _search(self, image: torch.Tensor, template: TemplateState, *, with_mask: bool = True):
        side = self._template_side() * self.search_size / self.params.template_size
        crop, transform = self._crop(image, side, self.search_size)
        out = self.network.track(self.network.normalize(crop), template, with_mask=with_mask,
                                 use_arn=self.params.use_arn, mask_stages=self.params.mask_stages)
        return out, transform, self.search_size / side

    def _foreground(self, out: ArnOutput) -> torch.Tensor:
        """Fused foreground probability ``[1, 1, S, S]`` of the search crop."""
        assert out.mask is not None
        return out.mask.softmax(1)[:, 1:2]

    # -- initialisation (Sec. 3.3) -------------------------------------------------------------
    @torch.no_grad()
    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        p = self.params
        x, y, w, h = box
        self.state = TargetState(np.array([x + w / 2.0, y + h / 2.0]), np.array([w, h], dtype=np.float64))
        self.frame_hw = frame.shape[:2]
        small = w * h / float(frame.shape[0] * frame.shape[1]) < p.small_target_area
        self.search_size = p.small_target_search_size if small else p.search_size
        self.points: torch.Tensor | None = None  # cell points of the score map, built on the first frame
        image = self._image(frame)
        side = self._template_side()
        z, _ = self._crop(image, side, p.template_size)
        full = (box_to_mask(box, frame.shape[:2]) if mask is None else mask).astype(np.float32)
        z_mask, _ = self._crop(torch.from_numpy(full).to(self.device)[None, None], side, p.template_size)
        template = self.network.template(self.network.normalize(z), (z_mask[:, 0] > 0.5).float())
        self.first_frame_masks = [(z_mask[0, 0] > 0.5).cpu().numpy()]
        if mask is None:
            template = self._cyclic_initialisation(image, template, p.cyclic_steps)
        self.template = template

    def _cyclic_initialisation(self, image: torch.Tensor, template: TemplateState, steps: int) -> TemplateState:
        """Refill the LUT ``steps`` times with the first frame's own predicted mask (paper Sec. 3.3)."""
        t = self.params.template_size
        offset = (self.search_size - t) // 2
        for _ in range(steps):
            out, _, _ = self._search(image, template)
            inner = self._foreground(out)[0, 0, offset:offset + t, offset:offset + t]
            refill = (inner > self.params.cyclic_threshold).float()
            if refill.sum() < 1:  # nothing segmented: keep the previous table
                break
            template = TemplateState(template.kernel, template.features, template.lut.with_mask(refill[None]))
            self.first_frame_masks.append(refill.bool().cpu().numpy())
        return template

    def first_frame_mask_in_template(self) -> np.ndarray:
        """The mask the LUT holds now, in template-crop pixels ``[127, 127]`` (bool)."""
        return self.first_frame_masks[-1]

    # -- tracking -------------------------------------------------------------------------------
    @torch.no_grad()
    def _track(self, frame: np.ndarray) -> Prediction:
        image = self._image(frame)
        out, transform, scale = self._search(image, self.template)
        scores = out.logits[0, 0].sigmoid()
        if self.points is None or self.points.shape[0] != scores.shape[0]:
            self.points = score_map_points(scores.shape[0], self.network.config.stride, self.search_size)
        boxes = decode_ltrb(self.points, out.ltrb[0].double())
        choice = choose_on_map(scores, boxes, torch.tensor(self.state.size * scale), penalty_k=self.penalty_k,
                               window_influence=self.window_influence)
        centre = (choice.box[:2] + choice.box[2:]) / 2.0
        shift = (centre - self.search_size // 2).numpy() / scale
        predicted = ((choice.box[2:] - choice.box[:2]) / scale).numpy()
        rate = choice.penalty * choice.score * self.lr
        # TracKit smooths twice (res = lr * pred + (1 - lr) * size; size = (1 - lr) size + lr res).
        size = smooth_size(self.state.size, smooth_size(self.state.size, predicted, rate), rate)
        height, width = self.frame_hw
        self.state.centre = np.clip(self.state.centre + shift, 0.0, [width, height])
        self.state.size = np.clip(size, self.params.min_target_size, [max(width, 10.0), max(height, 10.0)])
        probability = paste_patches(self._foreground(out), transform, self.frame_hw)[0, 0]
        mask = (probability > self.mask_threshold).cpu().numpy()
        rotated = mask_to_rotated_box(mask) if mask.any() else None
        cx, cy = self.state.centre
        w, h = self.state.size
        return Prediction(box=(cx - w / 2.0, cy - h / 2.0, w, h), score=choice.score, mask=mask,
                          rotated_box=rotated)
