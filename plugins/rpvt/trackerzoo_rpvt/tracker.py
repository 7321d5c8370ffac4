"""RPVT tracking (D3S's tracking loop with the CSCR segmentation network).

    initialize(frame, box, mask):
        GEM:  DCF patch (4.5 x target, 256 px) -> level-3 features of the patch and its
              augmented views -> Gauss-Newton/CG fit of projection + 4x4 filter; sample memory
        GIM:  segmentation crop (4 x target) -> reference features and reference mask:
              the given mask, or (box only, D3S) the first-frame segmentation against the
              filled box, kept inside the box
    track(frame):
        1  GEM: DCF patch at the last position -> scores -> peak, hard-negative check
        2  uncertainty = mean of recent peaks / this peak; trusted -> move to the peak
        3  segmentation crop at the new position; location channel = distance to its centre
           -> GIM (top-3 fg/bg matches) + mixer -> CSCR -> mask = P(fg) > 0.5
        4  largest component -> rotated box by ellipse fit; position = its centre; scale from
           the mask's area-preserving box, clamped to [0.95, 1.05] per frame (D3S)
        5  output: axis-aligned box of the fitted ellipse, mask, rotated box, calibrated DCF peak
        6  GEM update: store the sample (hard negatives with a higher rate); refit the filter
           every 10th frame or at once on a hard negative

Presence (issue #22): the raw score is the GEM peak (the activated, windowed DCF response
at the chosen position, ``extra["presence_raw"]``; it was ``Prediction.score`` before);
``Prediction.score`` is that peak mapped by the weight file's Platt calibration
(``trackerzoo.calibration.PresenceMap``). Long-term mode (``trackerzoo.longterm``,
``create("rpvt", long_term=True)``): a candidate region is scored by the same filter
(unwindowed), verified by the first-frame filter (kept as fitted in ``initialize``) and
the online-refitted filter; ``set_online_updates(False)`` freezes the GEM's sample memory and
filter and the peak/mask-area histories.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import cv2
import numpy as np
import torch

from trackerzoo import Prediction, Tracker
from trackerzoo.calibration import PresenceMap
from trackerzoo.geometry import mask_to_rotated_box
from trackerzoo.longterm import Candidate
from trackerzoo.patches import paste_patches, sample_patches
from trackerzoo_rpvt.loading import build_network
from trackerzoo_rpvt.model.network import distance_map
from trackerzoo_rpvt.online.dcf import OnlineDCF, first_frame_views, normalize_features
from trackerzoo_rpvt.params import DEFAULT_VARIANT, TRACKER_NAME, RpvtParams

DCF_STRIDE = 16  # level 3


def ellipse_box(corners: np.ndarray) -> np.ndarray:
    """Axis-aligned box (x, y, w, h) of the ellipse inscribed in a rotated box [4, 2]."""
    centre = corners.mean(axis=0)
    u = (corners[1] - corners[0]) / 2.0
    v = (corners[2] - corners[1]) / 2.0
    half = np.sqrt(u * u + v * v)
    return np.array([centre[0] - half[0], centre[1] - half[1], 2 * half[0], 2 * half[1]])


def area_preserving_box(corners: np.ndarray) -> np.ndarray:
    """D3S's ``poly_to_aabbox``: axis-aligned box with the polygon's centre and area (x, y, w, h)."""
    x, y = corners[:, 0], corners[:, 1]
    a1 = np.linalg.norm(corners[0] - corners[1]) * np.linalg.norm(corners[1] - corners[2])
    a2 = max((x.max() - x.min()) * (y.max() - y.min()), 1e-12)
    s = math.sqrt(a1 / a2)
    w, h = s * (x.max() - x.min()) + 1, s * (y.max() - y.min()) + 1
    return np.array([x.mean() - w / 2, y.mean() - h / 2, w, h])


def largest_component(mask: np.ndarray, min_area: float) -> tuple[np.ndarray | None, float]:
    """The filled largest external contour of a binary mask (uint8 [H, W]) and its area, or (None, 0)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None, 0.0
    areas = [cv2.contourArea(c) for c in contours]
    best = int(np.argmax(areas))
    if areas[best] <= min_area:
        return None, 0.0
    filled = np.zeros(mask.shape, dtype=np.uint8)
    cv2.drawContours(filled, contours, best, 1, thickness=-1)
    return filled, float(areas[best])


class RpvtTracker(Tracker):
    """D3S tracker with a selectable refinement pathway; outputs box, mask and rotated box."""

    Params = RpvtParams
    outputs = frozenset({"box", "mask"})
    # trackerzoo.longterm thresholds on the raw presence score (the GEM peak), chosen on
    # held-out procedural clips (README, "Presence and long-term mode"); each instance maps
    # them through its weight file's calibration (``long_term_defaults`` in __init__).
    # ``verify_threshold`` applies to the checks (first-frame and current filter responses,
    # raw); 0.3 keeps 95 % of the on-target frames of zoo-synth-calib (README).
    raw_long_term_thresholds: ClassVar[dict[str, float]] = {"lost_threshold": 0.4, "reacquire_threshold": 0.6}
    long_term_defaults: ClassVar[dict[str, Any]] = {
        "lost_threshold": 0.4, "reacquire_threshold": 0.6, "verify_threshold": 0.3,
    }

    def __init__(self, params: RpvtParams | None = None, *, variant: str | None = DEFAULT_VARIANT,
                 weights: str | None = "default", device: torch.device | str = "cpu") -> None:
        super().__init__(params, variant=variant or DEFAULT_VARIANT, weights=weights, device=device)
        p = self.params
        self.network = build_network(self.variant, weights, self.device, refinement=p.refinement,
                                     attention=p.attention, fusion=p.mask_fusion,
                                     generator=torch.Generator().manual_seed(p.seed))
        self.presence_map = PresenceMap.for_weights(TRACKER_NAME, self.variant, weights)
        self.long_term_defaults = {  # type: ignore[misc]  # per instance: this weight file's calibration
            **type(self).long_term_defaults,
            **{name: self.presence_map(raw) for name, raw in self.raw_long_term_thresholds.items()},
        }

    # -- helpers ---------------------------------------------------------------------------
    def _frame_tensor(self, frame: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frame).to(self.device).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)

    def _crop(self, image: torch.Tensor, centre: np.ndarray, side: float, size: int):
        c = torch.tensor(centre, dtype=torch.float64).view(1, 2)
        s = torch.tensor([side, side], dtype=torch.float64).view(1, 2)
        return sample_patches(image, c, s, size, "replicate")

    def _dcf_features(self, image: torch.Tensor, centre: np.ndarray) -> torch.Tensor:
        patch, _ = self._crop(image, centre, self.params.dcf_sample_size * self.target_scale,
                              self.params.dcf_sample_size)
        return normalize_features(self.network.features(patch)[3])

    def _segm_side(self, size: np.ndarray) -> float:
        return math.ceil(math.sqrt(float(size[0] * size[1])) * self.params.segm_search_area_factor)

    def _crop_mask(self, mask: np.ndarray, centre: np.ndarray, side: float) -> torch.Tensor:
        """Crop of a binary image mask, zero outside the frame, [1, 1, S, S]."""
        pad = math.ceil(side / 2) + 2
        padded = np.pad(mask.astype(np.float32), pad)
        tensor = torch.from_numpy(padded).to(self.device)[None, None]
        out, _ = self._crop(tensor, centre + pad, side, self.params.segm_output_size)
        return out

    def _segment(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Foreground probability [1, 1, S, S] of a segmentation crop."""
        logits = self.network.segment(features, self.reference_embedding, self.reference_mask, self.location)
        return torch.softmax(logits["logits"], dim=1)[:, :1]

    # -- initialisation --------------------------------------------------------------------
    @torch.no_grad()
    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        p = self.params
        x, y, w, h = box
        self.frame_size = np.array([frame.shape[1], frame.shape[0]], dtype=np.float64)
        self.pos = np.array([x + w / 2.0, y + h / 2.0])
        self.target_sz = np.array([w, h], dtype=np.float64)
        self.frame_index = 0
        self.generator = torch.Generator().manual_seed(p.seed)
        image = self._frame_tensor(frame)

        # GEM (ATOM): scale of the DCF patch and the first-frame fit.
        self.target_scale = math.sqrt(w * h) * p.search_area_scale / p.dcf_sample_size
        self.base_target_sz = self.target_sz / self.target_scale
        self.min_scale_factor = float(np.max(10.0 / self.base_target_sz))
        self.max_scale_factor = float(np.min(self.frame_size / self.base_target_sz))
        side = p.dcf_sample_size * self.target_scale
        base_patch, _ = self._crop(image, self.pos, side, p.dcf_sample_size)

        def shifted(shift: tuple[float, float]) -> torch.Tensor:  # target moved by +shift in the patch
            return self._crop(image, self.pos - np.array(shift) * side, side, p.dcf_sample_size)[0]

        views, shifts = first_frame_views(shifted, base_patch, p.augment_first_frame)
        features = normalize_features(self.network.features(torch.cat(views))[3])
        feature_size = features.shape[-1]
        sigma = math.sqrt(float(np.prod(feature_size / p.dcf_sample_size * self.base_target_sz))) \
            * p.output_sigma_factor
        self.dcf = OnlineDCF(p, feature_size, sigma)
        self.dcf.initialize(features, shifts * feature_size, generator=self.generator)
        self.peak_history: list[float] = []

        # GIM (D3S init_segmentation): reference features and mask.
        seg_side = self._segm_side(self.target_sz)
        patch, _transform = self._crop(image, self.pos, seg_side, p.segm_output_size)
        reference = self.network.features(patch)
        self.reference_embedding = self.network.matching.embed(reference[3])
        size = p.segm_output_size
        # D3S's centre distance map: pixel j at j + 1 - S/2 from the centre.
        self.location = distance_map((size, size), torch.full((1, 2), size / 2.0 - 1.0, device=self.device))
        if mask is not None:
            self.reference_mask = (self._crop_mask(mask, self.pos, seg_side) > 0.5).float()
        else:
            box_mask = np.zeros(frame.shape[:2], dtype=np.uint8)
            x0, y0 = round(x), round(y)
            box_mask[y0:round(y + h), x0:round(x + w)] = 1
            box_patch = (self._crop_mask(box_mask, self.pos, seg_side) > 0.5).float()
            self.reference_mask = box_patch
            prob = self._segment(reference)
            self.reference_mask = (prob > p.init_mask_threshold).float() * box_patch
            if float(self.reference_mask.sum()) < 1.0:  # nothing segmented: keep the box (D3S would too)
                self.reference_mask = box_patch
        self.mask_pixels = [float(self.reference_mask.sum())]
        self.uncertainty = 0.0
        self.online_updates = True

    # -- tracking --------------------------------------------------------------------------
    @torch.no_grad()
    def _track(self, frame: np.ndarray) -> Prediction:
        p = self.params
        self.frame_index += 1
        image = self._frame_tensor(frame)

        # 1. GEM localisation.
        sample_pos = self.pos.copy()
        sample_scale = self.target_scale
        features = self._dcf_features(image, sample_pos)
        scores = self.dcf.scores(features)
        target_cells = self.target_sz / (sample_scale * DCF_STRIDE)
        loc = self.dcf.localize(scores, torch.from_numpy(target_cells))
        new_pos = sample_pos + loc.displacement.numpy() * DCF_STRIDE * sample_scale

        # 2. Uncertainty (D3S).
        uncertainty = 0.0
        if self.frame_index > 5 and self.peak_history:
            uncertainty = float(np.mean(self.peak_history)) / max(loc.score, 1e-12)
        if uncertainty < p.tracking_uncertainty_thr and self.online_updates:
            self.peak_history = ([*self.peak_history, loc.score])[-p.response_budget:]
        self.uncertainty = uncertainty
        if uncertainty < p.tracking_uncertainty_thr:
            self._update_state(new_pos)
        new_pos = np.clip(new_pos, 0.0, self.frame_size - 1.0)

        # 3-4. Segmentation.
        region = None
        mask_image = np.zeros(frame.shape[:2], dtype=bool)
        if uncertainty < p.uncertainty_segment_thr:
            region, mask_image = self._segment_target(image, new_pos)
        if region is None:
            self.pos = new_pos.copy()

        # 6. GEM update.
        trusted = uncertainty < p.tracking_uncertainty_thr
        displacement = torch.from_numpy((self.pos - sample_pos) / (sample_scale * DCF_STRIDE))
        if self.online_updates:
            self.dcf.update(features, displacement, self.frame_index, loc.flag == "hard_negative", trusted)

        # 5. Output.
        if region is not None:
            rotated = region
            box = ellipse_box(region) if p.rotated_fit == "ellipse" else self._corner_box(region)
        else:
            w, h = self.target_sz
            box = np.array([self.pos[0] - w / 2, self.pos[1] - h / 2, w, h])
            rotated = np.array([[box[0], box[1]], [box[0] + w, box[1]], [box[0] + w, box[1] + h], [box[0], box[1] + h]])
        return Prediction(box=tuple(box), score=self.presence_map(loc.score), mask=mask_image, rotated_box=rotated,
                          extra={"presence_raw": loc.score, "uncertainty": uncertainty, "flag": loc.flag})

    # -- long-term mode (trackerzoo.longterm.Redetector) ------------------------------------
    def presence(self, prediction: Prediction) -> float:
        """The calibrated GEM peak of the last ``track`` (``Prediction.score``), in [0, 1]."""
        return float(prediction.score)

    def search_side(self) -> float:
        """Side of the GEM's DCF patch around the target, frame pixels (``dcf_sample_size * target_scale``)."""
        return float(self.params.dcf_sample_size * self.target_scale)

    def set_online_updates(self, enabled: bool) -> None:
        """Allow or stop every online update: GEM samples and filter refits, the peak and mask-area histories."""
        self.online_updates = bool(enabled)

    def reacquire(self, box: tuple[float, float, float, float]) -> None:
        """Continue from a verified re-detection ``box`` (x, y, w, h, frame pixels).

        The centre becomes ``box``'s; the scale follows its area (clamped to the valid scale
        factors) with the first frame's aspect ratio, as the tracker's own size does.
        Raises ``ValueError`` for a box without a positive finite size.
        """
        x, y, w, h = (float(v) for v in box)
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
            raise ValueError(f"box must be finite with positive w, h (pixels), got {box!r}")
        p = self.params
        scale = math.sqrt(w * h) * p.search_area_scale / p.dcf_sample_size
        self.target_scale = float(np.clip(scale, self.min_scale_factor, self.max_scale_factor))
        self.target_sz = self.base_target_sz * self.target_scale
        self.pos = np.clip(np.array([x + w / 2.0, y + h / 2.0]), 0.0, self.frame_size - 1.0)
        self.uncertainty = 0.0

    @torch.no_grad()
    def score_regions(self, frame: np.ndarray, centres: np.ndarray, factor: float,
                      scale: float = 1.0) -> list[Candidate]:
        """The GEM's best position in square regions centred at ``centres`` ``[N, 2]`` (x, y pixels), state unchanged.

        A region is ``factor`` DCF patches wide for a target ``scale`` times the last size,
        sampled at the tracking resolution (the patch side in pixels grows with ``factor``,
        rounded to 16), and scored by the current filter without the cosine window (the
        target may be anywhere in it). The candidate box is the last size times ``scale`` at
        the peak; ``confidence`` is the calibrated peak, ``checks`` are ``initial`` (the response
        of the first-frame filter, fitted in ``initialize`` and never updated, at that peak)
        and ``recent`` (the peak of the online-refitted filter), both clipped to [0, 1]
        (the filters regress Gaussian labels of height 1 at the target). Nothing is
        stored, no sample is added, the filter and the target are untouched.
        Raises ``ValueError`` for ``centres`` not ``[N, 2]`` or a non-positive ``factor``/``scale``.
        """
        points = np.asarray(centres, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"centres must be [N, 2] (x, y pixels), got shape {points.shape}")
        if not (factor > 0 and scale > 0):
            raise ValueError(f"factor and scale must be positive, got factor={factor!r}, scale={scale!r}")
        p = self.params
        image = self._frame_tensor(frame)
        size = max(16, round(factor * p.dcf_sample_size / 16) * 16)
        pixel = self.target_scale * float(scale)  # frame pixels per patch pixel
        target = self.target_sz * float(scale)
        candidates: list[Candidate] = []
        for centre in points:
            patch, _ = self._crop(image, centre, size * pixel, size)
            features = normalize_features(self.network.features(patch)[3])
            displacement, raw, (row, column) = self.dcf.peak(self.dcf.scores(features, window=False))
            initial = float(self.dcf.scores(features, window=False, initial=True)[0, 0, row, column])
            found = centre + displacement.numpy() * DCF_STRIDE * pixel
            candidates.append(Candidate(
                box=(found[0] - target[0] / 2.0, found[1] - target[1] / 2.0, target[0], target[1]),
                confidence=self.presence_map(raw),
                checks={"initial": min(max(initial, 0.0), 1.0), "recent": min(max(raw, 0.0), 1.0)},
            ))
        return candidates

    @staticmethod
    def _corner_box(corners: np.ndarray) -> np.ndarray:
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])

    def _update_state(self, new_pos: np.ndarray) -> None:
        """ATOM's ``update_state``: scale clamped to the valid factors; centre kept 20 % inside the frame."""
        self.target_scale = float(np.clip(self.target_scale, self.min_scale_factor, self.max_scale_factor))
        self.target_sz = self.base_target_sz * self.target_scale
        inside = (0.2 - 0.5) * self.target_sz
        self.pos = np.maximum(np.minimum(new_pos, self.frame_size - inside), inside)

    def _segment_target(self, image: torch.Tensor, pos: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """D3S ``segment_target``: (rotated box [4, 2] in image px or None, image mask [H, W] bool)."""
        p = self.params
        side = self._segm_side(self.target_sz)
        patch, transform = self._crop(image, pos, side, p.segm_output_size)
        prob = self._segment(self.network.features(patch))
        binary = (prob[0, 0] > p.mask_threshold).cpu().numpy().astype(np.uint8)
        component, area = largest_component(binary, p.min_contour_area)
        height, width = int(self.frame_size[1]), int(self.frame_size[0])
        if component is None:
            return None, np.zeros((height, width), dtype=bool)
        pasted = paste_patches(torch.from_numpy(component).float()[None, None].to(image), transform, (height, width))
        mask_image = (pasted[0, 0] > 0.5).cpu().numpy()
        corners_crop = mask_to_rotated_box(component.astype(bool), p.rotated_fit)
        corners = transform.patch_to_image(torch.from_numpy(corners_crop)[None].to(transform.origin.dtype))[0]
        corners = corners.cpu().numpy()

        if not p.segm_scale_estimation:  # D3S with segm_scale_estimation=False: the mask places, never scales
            self.pos = corners.mean(axis=0)
            return corners, mask_image
        mean_pixels = float(np.mean(self.mask_pixels))
        pixels_ratio = abs(mean_pixels - area) / max(mean_pixels, 1e-12)
        if self.uncertainty < p.uncertainty_segm_scale_thr and pixels_ratio < p.segm_pixels_ratio:
            if self.online_updates:
                self.mask_pixels = ([*self.mask_pixels, area])[-p.mask_pixels_budget:]
            aabb = area_preserving_box(corners)
            new_scale = math.sqrt(aabb[2] * aabb[3]) * p.search_area_scale / p.dcf_sample_size
            rel_change = abs(new_scale - self.target_scale) / self.target_scale
            if new_scale > p.segm_min_scale and rel_change < p.max_rel_scale_change:
                self.target_scale = max(self.target_scale * p.min_scale_change,
                                        min(self.target_scale * p.max_scale_change, new_scale))
        if pixels_ratio < p.consider_segm_pixels_ratio:
            self.pos = corners.mean(axis=0)
        if pixels_ratio < p.segm_pixels_ratio:
            return corners, mask_image
        return None, mask_image
