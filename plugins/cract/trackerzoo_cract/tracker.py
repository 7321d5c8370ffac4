"""CRACT tracking (Algorithm 1 of the paper).

    initialize:  crop template z around b_1 -> phi_34(z), f_init, RPN kernels
                 crop a region of init_region_factor search regions around b_1 -> fit the
                 discriminator (200 pos / 1000 neg; negatives from the whole region, as MDNet,
                 optionally some on the RPN's distractor proposals there; optionally shared
                 with augmented copies of the region, as ATOM)
    track:       crop search region x around b_{t-1} -> phi_4(x), phi_34(x)
                 RPN -> size/aspect penalty -> NMS -> N proposals p_i with coarse scores c_i
                 CRAC: f_i -> r_i (Eq. 3) -> p~_i (Eq. 4) -> f~_i (Eq. 5) -> nu~_i, tau~_i -> s~_i (Eq. 9)
                 rank beta * s~_i + (1 - beta) * c_i (Eq. 10) with the SiamRPN++ penalty and window
                 smooth the size, map back to the frame
                 every K frames: collect samples around b_t, refit the discriminator's fc layers

Presence (issue #22): ``Prediction.score`` is the box classification score s~ of Eq. 9
(alpha * identifier + (1 - alpha) * discriminator, both probabilities) of the chosen box,
mapped by the weight file's Platt calibration (``trackerzoo.calibration``; s~ itself is
``extra["presence_raw"]``, the ranking score of Eq. 10 ``extra["ranking"]``).
Long-term mode (``trackerzoo.longterm``, ``create("cract", long_term=True)``): that
confidence decides presence; a candidate region is scored by the same cascade, and
verified by the identifier (its similarity to the initial template) and the discriminator
(trained online on the recent appearance, frozen while the target is absent).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from trackerzoo import Prediction, Tracker
from trackerzoo.calibration import PresenceMap
from trackerzoo.geometry.motion_priors import rank_with_priors, size_change_penalty
from trackerzoo.longterm import Candidate
from trackerzoo.nn.inference import prepare_for_inference
from trackerzoo.patches import sample_patches, siamese_crop_side
from trackerzoo_cract.loading import build_network
from trackerzoo_cract.model import TemplateEmbedding
from trackerzoo_cract.model.anchors import decode, non_maximum_suppression, pairwise_iou
from trackerzoo_cract.model.features import FeatureMaps
from trackerzoo_cract.model.heads import Identifier
from trackerzoo_cract.model.network import Refinement
from trackerzoo_cract.model.rpn import RpnOutput
from trackerzoo_cract.online.augmentation import first_frame_views, parse_views
from trackerzoo_cract.online.discriminator_learner import OnlineDiscriminator
from trackerzoo_cract.params import DEFAULT_VARIANT, CractParams


@dataclasses.dataclass
class TargetState:
    """Where the target is in the frame (centre and size, pixels)."""

    centre: np.ndarray  # (x, y)
    size: np.ndarray  # (w, h)


class CractTracker(Tracker):
    """Siamese RPN proposals refined by cascaded regression-align-classification."""

    Params = CractParams
    outputs = frozenset({"box"})
    # trackerzoo.longterm thresholds, chosen on raw s~ (README, "Long-term mode": how); each
    # instance expresses them as calibrated confidences (``long_term_defaults`` in __init__).
    # ``verify_threshold`` applies to the raw checks (identifier, discriminator probabilities).
    raw_long_term_thresholds: ClassVar[dict[str, float]] = {"lost_threshold": 0.4, "reacquire_threshold": 0.6}
    long_term_defaults: ClassVar[dict[str, Any]] = {
        "lost_threshold": 0.4, "reacquire_threshold": 0.6, "verify_threshold": 0.5,
    }

    def __init__(self, params: CractParams | None = None, *, variant: str | None = DEFAULT_VARIANT,
                 weights: str | None = "default", device: torch.device | str = "cpu") -> None:
        super().__init__(params, variant=variant or DEFAULT_VARIANT, weights=weights, device=device)
        # Random initial weights (weights=None, or those the weight file then overwrites) come
        # from the tracker's own generator: create() leaves torch's global state alone.
        self.network = build_network(self.variant, weights, self.device,
                                     generator=torch.Generator().manual_seed(self.params.seed))
        self.network.set_backend(self.params.ops_backend)
        self.config = self.network.config
        self.features = self._prepare_features()
        self.presence_map = PresenceMap.for_weights("cract", self.variant, weights)
        self.long_term_defaults = {  # type: ignore[misc]  # per instance: this weight file's calibration
            **type(self).long_term_defaults,
            **{name: self.presence_map(raw) for name, raw in self.raw_long_term_thresholds.items()},
        }

    def _prepare_features(self) -> torch.nn.Module:
        """The shared backbone prepared once for inference (``params.inference``), traced at every crop size used.

        ``self.network`` keeps the module as built (its state dict is the weight file's).
        """
        p = self.params
        if p.inference == "eager":
            return self.network.features
        generator = torch.Generator().manual_seed(0)  # example crops; torch's global generator is left alone
        sides = sorted({p.search_size, p.template_size, round(p.search_size * p.init_region_factor)})
        examples = [(torch.rand(1, 3, side, side, generator=generator),) for side in sides]
        return prepare_for_inference(self.network.features, example_inputs=examples, device=self.device,
                                     exact=p.inference == "exact")

    # -- helpers -------------------------------------------------------------------------
    def _frame_tensor(self, frame: np.ndarray) -> torch.Tensor:
        image = torch.from_numpy(frame).to(self.device).permute(2, 0, 1).unsqueeze(0)
        return image.float().div_(255.0)

    def _crop(self, image: torch.Tensor, side: float, output_size: int):
        centre = torch.tensor(self.state.centre, dtype=torch.float64).view(1, 2)
        size = torch.tensor([side, side], dtype=torch.float64).view(1, 2)
        patch, _ = sample_patches(image, centre, size, output_size, "replicate")
        return patch, output_size / side

    def _target_in_crop(self, scale: float, crop_size: int) -> torch.Tensor:
        """The current target as a cxcywh box of a crop centred on it."""
        w, h = self.state.size * scale
        return torch.tensor([crop_size / 2.0, crop_size / 2.0, w, h], dtype=torch.float32, device=self.device)

    def _region_crop(self, image: torch.Tensor, factor: float = 1.0) -> tuple[torch.Tensor, float, int]:
        """The search region around the current state, its crop scale and size.

        ``factor`` > 1 widens the region at the same scale (the first frame's sampling region).
        """
        p = self.params
        size = round(p.search_size * factor)
        crop, scale = self._crop(image, self._template_side() * size / p.template_size, size)
        return crop, scale, size

    def _search_features(self, image: torch.Tensor) -> tuple[FeatureMaps, float]:
        """Features of the search region around the current state and its crop scale (Alg. 1, lines 4-5)."""
        search, scale, _ = self._region_crop(image)
        return self.features(search), scale

    def _template_side(self) -> float:
        p = self.params
        return float(siamese_crop_side(torch.tensor(self.state.size, dtype=torch.float64), p.context_amount,
                                       p.template_size))

    # -- Algorithm 1, lines 1-2 ------------------------------------------------------------
    @torch.no_grad()
    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        p = self.params
        x, y, w, h = box
        self.state = TargetState(centre=np.array([x + w / 2.0, y + h / 2.0]), size=np.array([w, h], dtype=np.float64))
        self.frame_size = np.array([frame.shape[1], frame.shape[0]], dtype=np.float64)
        self.frame_index = 0
        self.online_updates = True
        self.generator = torch.Generator().manual_seed(p.seed)
        image = self._frame_tensor(frame)

        template_side = self._template_side()
        template, template_scale = self._crop(image, template_side, p.template_size)
        self.template: TemplateEmbedding = self.network.embed_template_maps(
            self.features(template), self._target_in_crop(template_scale, p.template_size)[None]
        )

        self.discriminator = OnlineDiscriminator(
            self.config, p, self.network.pooling, self.device, self.generator
        )
        if p.use_discriminator:
            region, region_scale, region_size = self._region_crop(image, p.init_region_factor)
            views = [self.features(view) for view in
                     first_frame_views(region, parse_views(p.init_augmentations))]
            target = self._target_in_crop(region_scale, region_size)
            distractors = None
            if p.init_distractor_negatives:
                distractors = self._distractors(views[0], target, region_size).cpu()
            self.discriminator_history = self.discriminator.initialize(
                [maps.phi34 for maps in views], target.cpu(), float(region_size), distractors
            )

    # -- Algorithm 1, lines 4-12 -----------------------------------------------------------
    @torch.no_grad()
    def _track(self, frame: np.ndarray) -> Prediction:
        p = self.params
        # Lines 4-5: search region around b_{t-1}, its features.
        maps, scale = self._search_features(self._next_frame(frame))
        previous = self._target_in_crop(scale, p.search_size)

        # Line 6: proposals from the RPN.
        proposals, coarse = self._proposals(maps, previous, p.search_size)

        # Lines 7-10: the CRAC cascade.
        zeros = torch.zeros(proposals.shape[0], dtype=torch.long, device=self.device)
        refinement = self.network.refine(maps.phi34, proposals, zeros, self.template.initial, align=p.align_features)
        return self._conclude(maps, scale, previous, coarse, refinement)

    def _next_frame(self, frame: np.ndarray) -> torch.Tensor:
        """Count the frame and return it as a ``[1, 3, H, W]`` tensor in [0, 1]."""
        self.frame_index += 1
        return self._frame_tensor(frame)

    def _conclude(self, maps: FeatureMaps, scale: float, previous: torch.Tensor, coarse: torch.Tensor,
                  refinement: Refinement) -> Prediction:
        """Lines 9-12 of one frame from its refined proposals: classify, rank, move, update.

        ``maps`` are the frame's search features (batch of one), ``scale`` its crop scale,
        ``previous`` the last target (cxcywh, crop pixels), ``coarse`` the RPN scores c_i
        ``[K]`` and ``refinement`` the CRAC output for the ``K`` proposals.
        """
        p = self.params
        # Line 10: the box classification score s~ (Eq. 9).
        identification = Identifier.target_probability(refinement.identity_logits)
        if p.use_discriminator:
            discrimination = self.discriminator.score(refinement.features)
            classification = p.alpha * identification + (1.0 - p.alpha) * discrimination
        else:
            classification = identification

        # Line 11: rank (Eq. 10) under the SiamRPN++ penalty and cosine window.
        ranking = p.beta * classification + (1.0 - p.beta) * coarse
        boxes = refinement.boxes
        penalty = size_change_penalty(boxes[:, 2:], previous[2:], p.penalty_k)
        selection = rank_with_priors(ranking, penalty, boxes[:, :2], p.search_size, self._score_extent(maps),
                                     p.window_influence)
        best = int(torch.argmax(selection))
        self._move_to(boxes[best], scale, p.lr * float(penalty[best] * ranking[best]), p.search_size)

        # Line 12: online update of the discriminator every K frames.
        if p.use_discriminator and self.online_updates and self.frame_index % p.update_interval == 0:
            self._update_discriminator(maps.phi34, boxes, best, float(classification[best]), scale)

        x, y = self.state.centre - self.state.size / 2.0
        return Prediction(
            box=(x, y, self.state.size[0], self.state.size[1]),
            score=self.presence_map(float(classification[best])),
            extra={"presence_raw": float(classification[best]), "classification": float(classification[best]),
                   "ranking": float(ranking[best]), "coarse": float(coarse[best])},
        )

    # -- long-term mode (trackerzoo.longterm.Redetector) ------------------------------------
    def presence(self, prediction: Prediction) -> float:
        """The calibrated s~ of Eq. 9 for the chosen box (``Prediction.score``), in [0, 1]."""
        return float(prediction.score)

    def search_side(self) -> float:
        """Side of the search region x in frame pixels (the template side scaled by 255 / 127)."""
        return self._template_side() * self.params.search_size / self.params.template_size

    def set_online_updates(self, enabled: bool) -> None:
        """Allow or stop line 12 of Algorithm 1 (the discriminator's online update)."""
        self.online_updates = bool(enabled)

    def reacquire(self, box: tuple[float, float, float, float]) -> None:
        """Continue from a verified re-detection: ``box`` (x, y, w, h, pixels) becomes b_{t}."""
        x, y, w, h = box
        self.state.centre = np.array([x + w / 2.0, y + h / 2.0])
        self.state.size = np.clip(np.array([w, h], dtype=np.float64), self.params.min_target_size, self.frame_size)

    @torch.no_grad()
    def score_regions(self, frame: np.ndarray, centres: np.ndarray, factor: float,
                      scale: float = 1.0) -> list[Candidate]:
        """Lines 4-10 of Algorithm 1 in regions centred at ``centres`` ``[N, 2]`` (x, y pixels), state unchanged.

        The target is assumed ``scale`` times its last size (crop scale and size penalty
        follow); each region is ``factor`` search regions wide at that scale; its best box by
        s~ (no cosine window: the target may be anywhere) is returned with the checks
        ``initial`` (identifier, nu~+) and ``recent`` (discriminator, tau~). Frame pixels.
        """
        p = self.params
        image = self._frame_tensor(frame)
        saved_centre, saved_size = self.state.centre.copy(), self.state.size.copy()
        self.state.size = saved_size * float(scale)
        candidates: list[Candidate] = []
        try:
            for centre in np.asarray(centres, dtype=np.float64).reshape(-1, 2):
                self.state.centre = centre
                crop, scale, size = self._region_crop(image, factor)
                maps = self.features(crop)
                proposals, _ = self._proposals(maps, self._target_in_crop(scale, size), size)
                zeros = torch.zeros(proposals.shape[0], dtype=torch.long, device=self.device)
                refinement = self.network.refine(maps.phi34, proposals, zeros, self.template.initial,
                                                 align=p.align_features)
                initial = Identifier.target_probability(refinement.identity_logits)
                recent = self.discriminator.score(refinement.features) if p.use_discriminator else initial
                classification = p.alpha * initial + (1.0 - p.alpha) * recent
                best = int(torch.argmax(classification))
                box = refinement.boxes[best].double().cpu().numpy()
                box_centre = centre + (box[:2] - size / 2.0) / scale
                w, h = box[2:] / scale
                candidates.append(Candidate(
                    box=(box_centre[0] - w / 2.0, box_centre[1] - h / 2.0, w, h),
                    confidence=self.presence_map(float(classification[best])),
                    checks={"initial": float(initial[best]), "recent": float(recent[best])},
                ))
        finally:
            self.state.centre, self.state.size = saved_centre, saved_size
        return candidates

    # -- steps -----------------------------------------------------------------------------
    def _score_extent(self, maps) -> float:
        """Width in crop pixels covered by the RPN score map (the extent of the cosine window)."""
        search_cells = maps.phi4.shape[-1]
        score_size = search_cells - min(self.config.template_feature_size, search_cells) + 1
        return float((score_size - 1) * self.config.stride)

    def _proposals(self, maps, previous: torch.Tensor, crop_size: int,
                   rpn: RpnOutput | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-N proposals after NMS, ranked by the size-penalised coarse score; returns (boxes, c_i).

        The cosine window joins the ranking only if ``proposal_window_influence`` > 0 (README).
        ``rpn``: the RPN output of this crop when already computed (a batch of sequences),
        else it is computed from ``maps`` and the template's kernels.
        """
        p = self.params
        if rpn is None:
            rpn = self.network.propose(self.template.kernels, maps)
        score_size = rpn.scores.shape[-1]
        anchors = self.network.anchors(score_size, crop_size)
        scores = torch.softmax(rpn.flat_scores()[0], dim=-1)[:, 1]
        boxes = decode(rpn.flat_offsets()[0], anchors)
        penalty = size_change_penalty(boxes[:, 2:], previous[2:], p.penalty_k)
        ranked = rank_with_priors(scores, penalty, anchors[:, :2], crop_size,
                                  float((score_size - 1) * self.config.stride), p.proposal_window_influence)
        top = torch.topk(ranked, min(p.pre_nms_top_k, ranked.numel())).indices
        kept = top[non_maximum_suppression(boxes[top], ranked[top], p.nms_iou, p.num_proposals)]
        return boxes[kept], scores[kept]

    def _distractors(self, maps, target: torch.Tensor, crop_size: int) -> torch.Tensor:
        """The RPN's proposals in a crop that do not overlap the target: the objects it resembles."""
        proposals, _ = self._proposals(maps, target, crop_size)
        overlaps = pairwise_iou(proposals, target[None])[:, 0]
        return proposals[overlaps < self.params.negative_iou]

    def _move_to(self, box: torch.Tensor, scale: float, size_rate: float, crop_size: int) -> None:
        """New target state from the chosen box (crop pixels): centre directly, size smoothed (SiamRPN++)."""
        box = box.double().cpu().numpy()
        centre = self.state.centre + (box[:2] - crop_size / 2.0) / scale
        size = self.state.size * (1.0 - size_rate) + (box[2:] / scale) * size_rate
        self.state.centre = np.clip(centre, 0.0, self.frame_size)
        self.state.size = np.clip(size, self.params.min_target_size, self.frame_size)

    def _update_discriminator(self, phi34: torch.Tensor, boxes: torch.Tensor, best: int, confidence: float,
                              scale: float) -> None:
        """Collect samples around the result when confident; refit the fc layers (MDNet short-long update)."""
        p = self.params
        if confidence >= p.confident_score:
            target = boxes[best].cpu()
            overlaps = pairwise_iou(boxes, boxes[best:best + 1])[:, 0]
            distractors = boxes[overlaps < p.negative_iou].cpu()
            self.discriminator.collect(phi34, target, distractors, float(p.search_size), self.frame_index)
        self.discriminator.update(self.frame_index)
