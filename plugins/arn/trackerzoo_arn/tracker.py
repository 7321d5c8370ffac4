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

Presence (issue #22): the raw score is the score map's probability at the chosen cell
(the head's classification of the box it reports, before penalty and window),
``extra["presence_raw"]``; ``Prediction.score`` is it mapped by the weight file's Platt
calibration (``trackerzoo.calibration``; no weights ship yet, so the map is the raw score
clipped to [0, 1]); ``extra["foreground"]`` is the mean MMS foreground probability in the
centre half of the box (in [0, 1]). Long-term mode (``trackerzoo.longterm``, ``create("arn", long_term=True)``):
a candidate region is scored by the same head without the cosine window; OceanPlus has no
online model, so the one verifier check, ``initial``, compares with the first frame: the
cosine similarity of the candidate's neck features with the first-frame template kernel.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from trackerzoo import Prediction, Tracker
from trackerzoo.calibration import PresenceMap
from trackerzoo.geometry import box_to_mask, mask_to_rotated_box
from trackerzoo.geometry.anchor_free import MapChoice, choose_on_map, decode_ltrb, score_map_points, smooth_size
from trackerzoo.longterm import Candidate
from trackerzoo.patches import paste_patches, sample_patches, siamese_crop_side
from trackerzoo_arn.loading import build_network
from trackerzoo_arn.model.network import ArnOutput, TemplateState
from trackerzoo_arn.params import DEFAULT_VARIANT, TRACKER_NAME, ArnParams, mask_threshold_for


@dataclasses.dataclass
class TargetState:
    centre: np.ndarray  # (x, y) pixels
    size: np.ndarray  # (w, h) pixels


class ArnTracker(Tracker):
    """OceanPlus: box from the anchor-free head, mask from MMS with attention retrieval."""

    Params = ArnParams
    outputs = frozenset({"box", "mask"})
    # trackerzoo.longterm thresholds on the raw score-map probability (README, "Presence and
    # long-term mode": how they were chosen); each instance maps them through its presence
    # map (``long_term_defaults`` in __init__). ``verify_threshold`` applies to the raw checks.
    raw_long_term_thresholds: ClassVar[dict[str, float]] = {"lost_threshold": 0.4, "reacquire_threshold": 0.9}
    long_term_defaults: ClassVar[dict[str, Any]] = {
        "lost_threshold": 0.4, "reacquire_threshold": 0.9, "verify_threshold": 0.6,
    }

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
        self.online_updates = True  # recorded only: OceanPlus learns nothing online (set_online_updates)
        self.presence_map = PresenceMap.for_weights(TRACKER_NAME, self.variant, weights)
        self.long_term_defaults = {  # type: ignore[misc]  # per instance: this weight file's calibration
            **type(self).long_term_defaults,
            **{name: self.presence_map(raw) for name, raw in self.raw_long_term_thresholds.items()},
        }

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

    def _search(self, image: torch.Tensor, template: TemplateState, *, with_mask: bool = True, factor: float = 1.0):
        """The network on the search region around the current state: (output, crop transform, crop scale).

        ``factor`` > 1 widens the region at the same scale (a crop ``factor`` times larger).
        """
        crop_size = self._crop_size(factor)
        side = self._template_side() * crop_size / self.params.template_size
        crop, transform = self._crop(image, side, crop_size)
        out = self.network.track(self.network.normalize(crop), template, with_mask=with_mask,
                                 use_arn=self.params.use_arn, mask_stages=self.params.mask_stages)
        return out, transform, crop_size / side

    def _crop_size(self, factor: float) -> int:
        return self.search_size if factor == 1.0 else round(self.search_size * factor)

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
    def _read_map(self, out: ArnOutput, crop_size: int, previous_size: torch.Tensor, window_influence: float
                  ) -> MapChoice:
        """The best cell of the score map (Ocean's penalty and window); sizes in crop pixels."""
        scores = out.logits[0, 0].sigmoid()
        if crop_size == self.search_size:
            if self.points is None or self.points.shape[0] != scores.shape[0]:
                self.points = score_map_points(scores.shape[0], self.network.config.stride, crop_size)
            points = self.points
        else:
            points = score_map_points(scores.shape[0], self.network.config.stride, crop_size)
        boxes = decode_ltrb(points, out.ltrb[0].double())
        return choose_on_map(scores, boxes, previous_size, penalty_k=self.penalty_k,
                             window_influence=window_influence)

    @staticmethod
    def _centre_foreground(foreground: torch.Tensor, box: torch.Tensor) -> float:
        """Mean foreground probability ``[S, S]`` over the centre half (w/2 x h/2) of ``box`` (x1, y1, x2, y2, crop px).

        In [0, 1]; 0 when that centre lies outside the crop.
        """
        size = foreground.shape[-1]
        centre, half = (box[:2] + box[2:]) / 2.0, (box[2:] - box[:2]) / 4.0
        x1, y1 = (int(torch.floor(v).clamp(0, size)) for v in centre - half)
        x2, y2 = (int(torch.ceil(v).clamp(0, size)) for v in centre + half)
        if x2 <= x1 or y2 <= y1:
            return 0.0
        return float(foreground[y1:y2, x1:x2].mean())

    def _template_similarity(self, out: ArnOutput, cell: tuple[int, int]) -> float:
        """Cosine similarity, clipped to [0, 1], of the neck features under score-map ``cell`` with the template kernel.

        The window is the kernel-sized block of the search crop's neck map that the
        correlation compares with the first-frame kernel to score that cell.
        """
        assert out.search is not None
        kernel = self.template.kernel[0].detach()
        row, col = cell
        window = out.search[0, :, row:row + kernel.shape[-2], col:col + kernel.shape[-1]].detach()
        if window.shape != kernel.shape:
            raise ValueError(f"score-map cell {cell} has no full {tuple(kernel.shape)} window in the neck map "
                             f"{tuple(out.search.shape)}")
        return max(float(torch.nn.functional.cosine_similarity(window.flatten(), kernel.flatten(), dim=0)), 0.0)

    @torch.no_grad()
    def _track(self, frame: np.ndarray) -> Prediction:
        image = self._image(frame)
        out, transform, scale = self._search(image, self.template)
        choice = self._read_map(out, self.search_size, torch.tensor(self.state.size * scale), self.window_influence)
        centre = (choice.box[:2] + choice.box[2:]) / 2.0
        shift = (centre - self.search_size // 2).numpy() / scale
        predicted = ((choice.box[2:] - choice.box[:2]) / scale).numpy()
        rate = choice.penalty * choice.score * self.lr
        # TracKit smooths twice (res = lr * pred + (1 - lr) * size; size = (1 - lr) size + lr res).
        size = smooth_size(self.state.size, smooth_size(self.state.size, predicted, rate), rate)
        height, width = self.frame_hw
        self.state.centre = np.clip(self.state.centre + shift, 0.0, [width, height])
        self.state.size = np.clip(size, self.params.min_target_size, [max(width, 10.0), max(height, 10.0)])
        foreground = self._foreground(out)
        probability = paste_patches(foreground, transform, self.frame_hw)[0, 0]
        mask = (probability > self.mask_threshold).cpu().numpy()
        rotated = mask_to_rotated_box(mask) if mask.any() else None
        cx, cy = self.state.centre
        w, h = self.state.size
        return Prediction(box=(cx - w / 2.0, cy - h / 2.0, w, h), score=self.presence_map(choice.score), mask=mask,
                          rotated_box=rotated,
                          extra={"presence_raw": choice.score,
                                 "foreground": self._centre_foreground(foreground[0, 0], choice.box)})

    # -- long-term mode (trackerzoo.longterm.Redetector) ------------------------------------------
    def presence(self, prediction: Prediction) -> float:
        """The mapped score-map probability of the reported box (``Prediction.score``), in [0, 1]."""
        return float(prediction.score)

    def search_side(self) -> float:
        """Side of the search region x in frame pixels (the template side scaled by 255 / 127, or 287 / 127)."""
        return self._template_side() * self.search_size / self.params.template_size

    def set_online_updates(self, enabled: bool) -> None:
        """Record whether online updates are allowed; OceanPlus has none to stop.

        Its template kernel and ARN look-up table are fixed at ``initialize`` (TracKit's
        template update is not built), so tracking never changes them either way.
        """
        self.online_updates = bool(enabled)

    def reacquire(self, box: tuple[float, float, float, float]) -> None:
        """Continue from a verified re-detection: ``box`` (x, y, w, h, pixels) becomes the target state.

        The size is clipped as in tracking; nothing else is carried from frame to frame
        (each frame's mask comes from the first-frame look-up table alone).
        """
        x, y, w, h = box
        height, width = self.frame_hw
        self.state.centre = np.clip(np.array([x + w / 2.0, y + h / 2.0]), 0.0, [width, height])
        self.state.size = np.clip(np.array([w, h], dtype=np.float64), self.params.min_target_size,
                                  [max(width, 10.0), max(height, 10.0)])

    @torch.no_grad()
    def score_regions(self, frame: np.ndarray, centres: np.ndarray, factor: float,
                      scale: float = 1.0) -> list[Candidate]:
        """The tracking step's head and MMS in regions centred at ``centres`` ``[N, 2]`` (x, y pixels), state unchanged.

        The target is assumed ``scale`` times its last size (crop side and size penalty
        follow); each region is ``factor`` search regions wide at that scale. Its best cell
        by score x size penalty (no cosine window: the target may be anywhere) gives the
        candidate box (frame pixels, unsmoothed), ``confidence`` = the mapped score, and
        the check ``initial``: the cosine similarity (clipped to [0, 1]) of the neck
        features under that cell with the first-frame template kernel. Masks are not
        computed (the box head alone decides). Raises ``ValueError`` for
        ``centres`` that are not ``[N, 2]`` or a non-positive ``factor`` or ``scale``.
        """
        centres = np.asarray(centres, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[1] != 2 or not np.isfinite(centres).all():
            raise ValueError(f"centres must be a finite [N, 2] array of (x, y) pixels, got shape {centres.shape}")
        if not (factor > 0.0 and scale > 0.0):
            raise ValueError(f"factor and scale must be positive, got factor={factor!r}, scale={scale!r}")
        image = self._image(frame)
        crop_size = self._crop_size(float(factor))
        saved_centre, saved_size = self.state.centre.copy(), self.state.size.copy()
        candidates: list[Candidate] = []
        try:
            self.state.size = saved_size * float(scale)
            for centre in centres:
                self.state.centre = centre
                out, _, crop_scale = self._search(image, self.template, with_mask=False, factor=float(factor))
                choice = self._read_map(out, crop_size, torch.tensor(self.state.size * crop_scale), 0.0)
                box = choice.box.double()
                box_centre = centre + (((box[:2] + box[2:]) / 2.0).numpy() - crop_size // 2) / crop_scale
                w, h = ((box[2:] - box[:2]) / crop_scale).numpy()
                candidates.append(Candidate(
                    box=(float(box_centre[0] - w / 2.0), float(box_centre[1] - h / 2.0), float(w), float(h)),
                    confidence=self.presence_map(choice.score),
                    checks={"initial": self._template_similarity(out, choice.index)},
                ))
        finally:
            self.state.centre, self.state.size = saved_centre, saved_size
        return candidates
