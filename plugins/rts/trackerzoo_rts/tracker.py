"""RTS tracking (paper Sec. 3.6; pytracking ``tracker/rts``), as an algorithm box.

    initialize(frame, box or mask):
        mask y_0 = STA(frame, box) unless a mask is given              (Sec. 3.1)
        crop the search region; first-frame views: identity, mirror, shifts, blur
        D_s <- {(x_s, y_s)} of the views;  tau <- A(D_s)  (20 steps)    (Eq. 1)
        D_c <- {(x_c, gauss(box))};  kappa <- P(D_c)   (10 steps)       (Eq. 2)
    track(frame):
        crop around the last state; x_b, x_s, x_c
        s_c = T_kappa(x_c);  x_f = T_tau(x_s) + H(s_c);  mask = D(x_f, x_b) > t_ss   (Sec. 3.4)
        instance found <=> max s_c > t_sc;  mask found <=> area >= min_mask_area
        box = smallest box around the mask; instance fallback when the mask is lost (Table 2)
        memory rules on the schedule (every frame for 100 frames, then every 20th):
            (a) both found -> update D_s and D_c;  (b)/(c) mask lost -> D_c only;
            (d) instance lost -> neither; retrain each model whose memory changed
        scale change of the search region clamped to (0.8, 1.2)

Presence (issue #22): the raw score is the mean instance score s_c = T_kappa(x_c) over the
cells of the score map inside the reported box (the cell nearest to the box centre when
none is inside): high only when the box is on the target's response and not much larger
than it (a leaking mask). ``extra["presence_raw"]``; ``Prediction.score`` is that value
mapped by the weight file's Platt calibration (``trackerzoo.calibration.PresenceMap``);
the global peak of s_c (the old score, compared with t_sc) is ``extra["instance_peak"]``.
Long-term mode (``trackerzoo.longterm``, ``create("rts", long_term=True)``): a candidate
region is scored by the instance branch alone; its checks are the response of the
first-frame instance filter kappa_0 ("initial") and of the current, online-trained kappa
("recent"), both clipped to [0, 1]. README, "Presence and long-term mode".
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import torch

from trackerzoo import Prediction, Tracker
from trackerzoo.calibration import PresenceMap
from trackerzoo.geometry import box_to_mask, mask_to_box, mask_to_rotated_box
from trackerzoo.labels import gaussian_center_labels
from trackerzoo.learners import SampleMemory
from trackerzoo.longterm import Candidate
from trackerzoo.patches import gaussian_blur, paste_patches, sample_patches
from trackerzoo.weights import load_into
from trackerzoo_rts.loading import build_network
from trackerzoo_rts.model.sta import StaNet
from trackerzoo_rts.params import DEFAULT_VARIANT, RtsParams


@dataclasses.dataclass(frozen=True)
class MemoryDecision:
    """Which memories take this frame's sample (paper Sec. 3.6, rules (a)-(d))."""

    segmentation: bool
    instance: bool


def memory_decision(instance_found: bool, mask_found: bool) -> MemoryDecision:
    """Rules (a)-(d): (a) both found: both memories; (b) either fails: not the segmentation
    memory; (c) only the mask fails: the instance memory; (d) the instance fails: neither."""
    return MemoryDecision(segmentation=instance_found and mask_found, instance=instance_found)


def is_update_frame(frame_index: int, all_frames: int, interval: int) -> bool:
    """Every frame while ``frame_index < all_frames`` (100), then every ``interval``-th (20)."""
    return frame_index < all_frames or frame_index % interval == 0


@dataclasses.dataclass
class TargetState:
    centre: np.ndarray  # (x, y), image pixels
    size: np.ndarray  # (w, h), image pixels


class RtsTracker(Tracker):
    """Segmentation-centric tracker: LWL segmentation branch conditioned on a DiMP instance branch."""

    Params = RtsParams
    outputs = frozenset({"box", "mask"})
    # trackerzoo.longterm thresholds on the raw presence score (README, "Presence and
    # long-term mode": how they were chosen); each instance maps them through its weight
    # file's calibration (``long_term_defaults`` in __init__). ``verify_threshold`` applies to
    # the checks (instance responses clipped to [0, 1]).
    raw_long_term_thresholds: ClassVar[dict[str, float]] = {"lost_threshold": 0.1, "reacquire_threshold": 0.2}
    long_term_defaults: ClassVar[dict[str, Any]] = {
        "lost_threshold": 0.1, "reacquire_threshold": 0.2, "verify_threshold": 0.5,
    }

    def __init__(self, params: RtsParams | None = None, *, variant: str | None = DEFAULT_VARIANT,
                 weights: str | None = "default", device: torch.device | str = "cpu") -> None:
        super().__init__(params, variant=variant or DEFAULT_VARIANT, weights=weights, device=device)
        self.network = build_network(self.variant, weights, self.device,
                                     generator=torch.Generator().manual_seed(self.params.seed))
        self.network.classifier.filter_initializer.backend = self.params.ops_backend
        self.sample_size = (self.params.sample_height, self.params.sample_width)
        self.sta: StaNet | None = None  # built on the first box initialisation that needs it
        self.online_updates = True
        self.presence_map = PresenceMap.for_weights("rts", self.variant, weights)
        self.long_term_defaults = {  # type: ignore[misc]  # per instance: this weight file's calibration
            **type(self).long_term_defaults,
            **{name: self.presence_map(raw) for name, raw in self.raw_long_term_thresholds.items()},
        }

    # -- geometry ----------------------------------------------------------------------------
    def _crop_extent(self) -> np.ndarray:
        """(w, h) in image pixels of the search region: area search_area_scale^2 * w * h, crop aspect."""
        p = self.params
        area = p.search_area_scale**2 * float(np.prod(self.base_size)) * self.scale_factor**2
        scale = math.sqrt(area / (self.sample_size[0] * self.sample_size[1]))
        return np.array([self.sample_size[1] * scale, self.sample_size[0] * scale])

    def _crop(self, image: torch.Tensor, centre: np.ndarray, extent: np.ndarray | None = None,
              output_size: tuple[int, int] | None = None):
        """Crop of ``extent`` (w, h image px; default the search region) at ``centre`` resampled to ``output_size``."""
        extent = self._crop_extent() if extent is None else extent
        centres = torch.tensor(centre, dtype=torch.float64).view(1, 2)
        sizes = torch.tensor(extent, dtype=torch.float64).view(1, 2)
        return sample_patches(image, centres, sizes, output_size or self.sample_size, "inside_major")

    def _frame_tensor(self, frame: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frame).to(self.device).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)

    def _labels(self, boxes: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """Gaussian instance labels ``[N, 1, h+1, w+1]`` at the centres of ``boxes [N, 4]`` (crop px)."""
        size = (feat.shape[-2] + 1, feat.shape[-1] + 1)
        stride = self.sample_size[0] / feat.shape[-2]
        labels = gaussian_center_labels(boxes.float().cpu(), size, stride, sigma_factor=self.params.label_sigma_factor)
        return labels.unsqueeze(1).to(feat)

    # -- first frame -------------------------------------------------------------------------
    @torch.no_grad()
    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        p = self.params
        self.generator = torch.Generator().manual_seed(p.seed)
        self.frame_index = 0
        self.frame_hw = frame.shape[:2]
        if mask is None:
            mask = self._initial_mask(frame, box)
        else:
            box = tuple(mask_to_box(mask)) if mask.any() else box
        x, y, w, h = (float(v) for v in box)
        self.state = TargetState(centre=np.array([x + w / 2, y + h / 2]), size=np.array([w, h]))
        self.base_size = self.state.size.copy()
        self.scale_factor = 1.0
        self.last_box = (x, y, w, h)

        image = self._frame_tensor(frame)
        mask_image = torch.from_numpy(np.ascontiguousarray(mask)).to(self.device).float()[None, None]
        crops, masks, boxes = self._first_frame_views(image, mask_image, np.array([x, y, w, h]))
        levels = self.network.backbone(crops)
        seg_feat = self.network.segmentation_features(levels)
        inst_feat = self.network.instance_features(levels)
        labels = self._labels(boxes, inst_feat)

        # Segmentation memory D_s and tau (Eq. 1).
        self.seg_memory = SampleMemory(p.segmentation_memory, p.segmentation_learning_rate,
                                       min_initial_weight=p.initial_sample_min_weight)
        self.seg_memory.initialize({"x": seg_feat, "y": masks})
        self.tau = self.network.learn_segmentation(seg_feat[None], masks[None], num_iters=p.segmentation_init_iters)
        # Instance memory D_c and kappa (Eq. 2).
        self.inst_memory = SampleMemory(p.instance_memory, p.instance_learning_rate)
        self.inst_memory.initialize({"x": inst_feat, "y": labels})
        self.kappa = self.network.classifier.learn(inst_feat[None], boxes[None].to(inst_feat), labels[None],
                                                   num_iters=p.instance_init_iters)[-1]
        self.initial_kappa = self.kappa  # the first-frame target model: the "initial" check of long-term mode

    def _initial_mask(self, frame: np.ndarray, box) -> np.ndarray:
        """Box -> mask with STA (``sta_weights``), kept inside the box; without STA weights, or when
        STA finds nothing, the filled box is the first mask."""
        filled = box_to_mask(box, frame.shape[:2])
        if not self.params.sta_weights:
            return filled
        if self.sta is None:
            self.sta = load_into(StaNet(self.network.config), self.params.sta_weights).to(self.device).eval()
        x, y, w, h = (float(v) for v in box)
        area = self.params.sta_search_area_scale**2 * w * h
        scale = math.sqrt(area / (self.sample_size[0] * self.sample_size[1]))
        centre = torch.tensor([[x + w / 2, y + h / 2]], dtype=torch.float64)
        extent = torch.tensor([[self.sample_size[1] * scale, self.sample_size[0] * scale]], dtype=torch.float64)
        crop, transform = sample_patches(self._frame_tensor(frame), centre, extent, self.sample_size, "inside_major")
        box_crop = transform.image_to_patch_boxes(torch.tensor([[x, y, w, h]], dtype=torch.float64)).to(crop)
        _, logits = self.sta(crop, box_crop)
        probability = paste_patches(torch.sigmoid(logits).double(), transform, frame.shape[:2], fill=0.0)[0, 0]
        mask = (probability > 0.5).cpu().numpy() & filled
        return mask if mask.any() else filled

    def _first_frame_views(self, image: torch.Tensor, mask: torch.Tensor, box: np.ndarray):
        """Crops ``[V, 3, h, w]``, soft masks ``[V, 1, h, w]`` and boxes ``[V, 4]`` (crop px) of the views."""
        p = self.params
        centre = self.state.centre
        crop, transform = self._crop(image, centre)
        mask_crop, _ = self._crop(mask, centre)
        box_crop = transform.image_to_patch_boxes(torch.tensor(box, dtype=torch.float64).view(1, 4))[0]
        crops, masks, boxes = [crop], [mask_crop], [box_crop]
        if p.augment_flip:
            crops.append(crop.flip(-1))
            masks.append(mask_crop.flip(-1))
            flipped = box_crop.clone()
            flipped[0] = self.sample_size[1] - box_crop[0] - box_crop[2]
            boxes.append(flipped)
        extent = self._crop_extent()
        for _ in range(p.augment_shifts):
            shift = (torch.rand(2, generator=self.generator, dtype=torch.float64) * 2 - 1) * p.augment_shift_fraction
            shifted_centre = centre + shift.numpy() * extent
            view, view_transform = self._crop(image, shifted_centre)
            view_mask, _ = self._crop(mask, shifted_centre)
            crops.append(view)
            masks.append(view_mask)
            boxes.append(view_transform.image_to_patch_boxes(torch.tensor(box, dtype=torch.float64).view(1, 4))[0])
        if p.augment_blur_sigma > 0:
            crops.append(gaussian_blur(crop, p.augment_blur_sigma, p.augment_blur_sigma))
            masks.append(mask_crop)
            boxes.append(box_crop)
        return torch.cat(crops), torch.cat(masks).clamp(0, 1), torch.stack(boxes)

    # -- every frame ------------------------------------------------------------------------
    @torch.no_grad()
    def _track(self, frame: np.ndarray) -> Prediction:
        p = self.params
        self.frame_index += 1
        image = self._frame_tensor(frame)
        crop, transform = self._crop(image, self.state.centre)
        levels = self.network.backbone(crop)
        seg_feat = self.network.segmentation_features(levels)
        inst_feat = self.network.instance_features(levels)

        # Instance branch: s_c = T_kappa(x_c) and its peak.
        scores = self.network.classifier.apply(self.kappa, inst_feat[None])[0]  # [1, 1, h+1, w+1]
        peak_score = float(scores.max())
        peak = int(torch.argmax(scores))
        row, col = divmod(peak, scores.shape[-1])
        stride = self.sample_size[0] / inst_feat.shape[-2]
        instance_centre = transform.patch_to_image(torch.tensor([[col * stride, row * stride]],
                                                                dtype=torch.float64))[0].numpy()
        instance_found = peak_score > p.t_sc

        # Segmentation branch conditioned on the instance scores (x_f = x_m + H(s_c)), decoder.
        conditioning = scores if p.instance_conditioning else None
        logits = self.network.segment(self.tau, seg_feat, levels, conditioning, self.sample_size)
        probability = torch.sigmoid(logits)
        pasted = paste_patches(probability.double(), transform, self.frame_hw, fill=0.0)[0, 0]
        mask = (pasted > p.t_ss).cpu().numpy()
        area = int(mask.sum())
        mask_found = area > 0 and area >= p.min_mask_area

        # Output: box from the mask; instance fallback when the mask is lost.
        rotated = None
        if mask_found:
            box = mask_to_box(mask)
            rotated = mask_to_rotated_box(mask)
            self._move(box[:2] + box[2:] / 2, box[2:])
            out_box = tuple(box)
        elif instance_found and p.instance_fallback:
            self._move(instance_centre, self.state.size)
            out_box = (*(self.state.centre - self.state.size / 2), *self.state.size)
        else:
            out_box = self.last_box
        self.last_box = tuple(float(v) for v in out_box)

        # Presence: the mean instance score over the reported box (module docstring).
        raw = self._mean_score_in_box(scores[0, 0], stride, transform, self.last_box)

        # Memories and model updates (rules (a)-(d), schedule); none while updates are stopped.
        decision = memory_decision(instance_found, mask_found)
        if self.online_updates and is_update_frame(self.frame_index, p.update_all_frames, p.update_interval):
            self._update(decision, seg_feat, probability, inst_feat, transform)
        return Prediction(
            box=self.last_box, score=self.presence_map(raw), mask=mask, rotated_box=rotated,
            extra={"presence_raw": raw, "instance_peak": peak_score, "instance_found": instance_found,
                   "mask_found": mask_found, "updated_segmentation": decision.segmentation,
                   "updated_instance": decision.instance},
        )

    @staticmethod
    def _mean_score_in_box(scores: torch.Tensor, stride: float, transform,
                           box: tuple[float, float, float, float]) -> float:
        """Mean of ``scores [h+1, w+1]`` (cell (r, c) at crop px (c, r) * ``stride``) over the cells inside ``box``.

        ``box`` is (x, y, w, h) image pixels, ``transform`` maps it into the crop; when no cell
        centre lies inside it, the score of the cell nearest to its centre.
        """
        x, y, w, h = transform.image_to_patch_boxes(torch.tensor(box, dtype=torch.float64).view(1, 4))[0].tolist()
        rows, cols = scores.shape
        r0, r1 = max(math.ceil(y / stride), 0), min(math.floor((y + h) / stride), rows - 1)
        c0, c1 = max(math.ceil(x / stride), 0), min(math.floor((x + w) / stride), cols - 1)
        if r0 <= r1 and c0 <= c1:
            return float(scores[r0:r1 + 1, c0:c1 + 1].mean())
        row = min(max(round((y + h / 2) / stride), 0), rows - 1)
        col = min(max(round((x + w / 2) / stride), 0), cols - 1)
        return float(scores[row, col])

    def _move(self, centre: np.ndarray, size: np.ndarray) -> None:
        """New state; the search-region scale follows the target with a clamped change per frame."""
        p = self.params
        new_factor = math.sqrt(float(np.prod(np.maximum(size, 1.0))) / float(np.prod(self.base_size)))
        change = min(max(new_factor / self.scale_factor, p.max_scale_change_low), p.max_scale_change_high)
        self.scale_factor *= change
        self.state.centre = np.clip(np.asarray(centre, dtype=np.float64), 0, [self.frame_hw[1], self.frame_hw[0]])
        self.state.size = self.base_size * self.scale_factor

    def _update(self, decision: MemoryDecision, seg_feat: torch.Tensor, probability: torch.Tensor,
                inst_feat: torch.Tensor, transform) -> None:
        p = self.params
        if decision.segmentation:
            self.seg_memory.insert({"x": seg_feat[0], "y": probability[0]})
            if p.segmentation_update_iters:
                self.tau = self.network.learn_segmentation(
                    self.seg_memory["x"][None], self.seg_memory["y"][None], filt=self.tau,
                    memory_weights=self.seg_memory.weights[None], num_iters=p.segmentation_update_iters)
        if decision.instance:
            box = np.concatenate([self.state.centre - self.state.size / 2, self.state.size])
            box_crop = transform.image_to_patch_boxes(torch.tensor(box, dtype=torch.float64).view(1, 4))
            self.inst_memory.insert({"x": inst_feat[0], "y": self._labels(box_crop, inst_feat)[0]})
            if p.instance_update_iters:
                self.kappa = self.network.classifier.filter_optimizer(
                    self.kappa, self.inst_memory["x"][None], self.inst_memory["y"][None],
                    self.inst_memory.weights[None], num_iters=p.instance_update_iters)[-1]

    # -- long-term mode (trackerzoo.longterm.Redetector) ------------------------------------
    def presence(self, prediction: Prediction) -> float:
        """The calibrated mean instance score over the reported box (``Prediction.score``), in [0, 1]."""
        return float(prediction.score)

    def search_side(self) -> float:
        """Side in frame pixels of a square with the area of the search region (which has the crop's aspect)."""
        return float(math.sqrt(float(np.prod(self._crop_extent()))))

    def set_online_updates(self, enabled: bool) -> None:
        """Allow or stop every online update: both memories (D_s, D_c) and both models (tau, kappa)."""
        self.online_updates = bool(enabled)

    def reacquire(self, box: tuple[float, float, float, float]) -> None:
        """Continue from a verified re-detection: ``box`` (x, y, w, h, pixels) becomes the state.

        The search-region scale jumps to the box's size (no per-frame clamp); the memories and
        models are kept. Raises ``ValueError`` for a box without a positive finite size.
        """
        x, y, w, h = (float(v) for v in box)
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
            raise ValueError(f"reacquire needs a box (x, y, w, h) with a positive finite size, got {box!r}")
        self.scale_factor = math.sqrt(w * h / float(np.prod(self.base_size)))
        self.state.centre = np.clip(np.array([x + w / 2, y + h / 2]), 0, [self.frame_hw[1], self.frame_hw[0]])
        self.state.size = self.base_size * self.scale_factor
        self.last_box = (x, y, w, h)

    @torch.no_grad()
    def score_regions(self, frame: np.ndarray, centres: np.ndarray, factor: float,
                      scale: float = 1.0) -> list[Candidate]:
        """The instance branch in regions centred at ``centres`` ``[N, 2]`` (x, y pixels), state unchanged.

        A region is ``factor`` times the search region of a target ``scale`` times the last
        size (crop aspect kept, resampled to ``factor`` times the crop size, rounded to 32 px,
        so the features keep their scale). Its candidate is the peak of s_c = T_kappa(x_c):
        a box of the last size times ``scale`` centred there, confidence the calibrated mean
        of s_c over that box (the same quantity as ``Prediction.score``), checks ``initial``
        (the first-frame filter kappa_0 at the peak) and ``recent`` (the current kappa: the
        peak), both clipped to [0, 1]. No memory, model or state changes. Raises
        ``ValueError`` for a non-positive ``factor`` or ``scale``.
        """
        if not (factor > 0 and scale > 0):
            raise ValueError(f"factor and scale must be positive, got factor={factor!r}, scale={scale!r}")
        image = self._frame_tensor(frame)
        extent = self._crop_extent() * float(scale) * float(factor)
        output_size = tuple(max(32, 32 * round(side * float(factor) / 32)) for side in self.sample_size)
        size = self.state.size * float(scale)
        candidates: list[Candidate] = []
        for centre in np.asarray(centres, dtype=np.float64).reshape(-1, 2):
            crop, transform = self._crop(image, centre, extent, output_size)
            inst_feat = self.network.instance_features(self.network.backbone(crop))
            scores = self.network.classifier.apply(self.kappa, inst_feat[None])[0, 0, 0]
            initial = self.network.classifier.apply(self.initial_kappa, inst_feat[None])[0, 0, 0]
            peak = int(torch.argmax(scores))
            row, col = divmod(peak, scores.shape[-1])
            stride = output_size[0] / inst_feat.shape[-2]
            found = transform.patch_to_image(torch.tensor([[col * stride, row * stride]], dtype=torch.float64))[0]
            found = found.numpy()
            box = (float(found[0] - size[0] / 2), float(found[1] - size[1] / 2), float(size[0]), float(size[1]))
            raw = self._mean_score_in_box(scores, stride, transform, box)
            candidates.append(Candidate(
                box=box, confidence=self.presence_map(raw),
                checks={"initial": min(max(float(initial[row, col]), 0.0), 1.0),
                        "recent": min(max(float(scores[row, col]), 0.0), 1.0)},
            ))
        return candidates
