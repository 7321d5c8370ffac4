"""IBFP tracking (Sec. III and IV-A c of the paper).

    initialize:  crop z (crop_size, area area_factor x the target) around b_1
                 -> levels z3, z4, z5 -> template kernels k3, k4, k5 (kept: the offline
                 branch always matches the initial template)
                 online branch: layer4 maps of the first-frame crop and augmented copies
                 (flip, shifts) -> ATOM fit (Gauss-Newton / CG) of projection + filter
    track:       crop x around the previous centre, same scale rule
                 x -> levels -> CSCS/IBU x2 -> R -> head: centre map s_c, l,t,r,b map
                 online response s_u on layer4, upsampled; s = w s_c + (1 - w) s_u (Eq. 11)
                 SiamFC++ ranking: s * size/aspect penalty, blended with a cosine window
                 best cell -> its l,t,r,b box; centre moves there, size smoothed at rate
                 lr * penalty * s (SiamFC++'s convention)
                 online: remember the frame when confident; refit every update_interval
                 frames or on a hard negative

Presence (issue #22): the raw score is the mixed score s of Eq. 11 at the chosen cell
(``extra["presence_raw"]``; its parts s_c and s_u there are ``extra["offline"]`` and
``extra["online"]``); ``Prediction.score`` is s mapped by the weight file's Platt
calibration (``trackerzoo.calibration``). Computing it costs nothing: s is what the
ranking already uses. Long-term mode (``trackerzoo.longterm``, ``create("ibfp",
long_term=True)``): a candidate region is a search crop run through the same network and
online filter (no cosine window, no move); it is verified by s_c (the correlation with
the first-frame template kernels) and s_u (the online filter, fitted on recent frames,
frozen while the target is absent).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from trackerzoo import Prediction, Tracker
from trackerzoo.calibration import PresenceMap
from trackerzoo.geometry import xyxy_to_cxcywh
from trackerzoo.geometry.anchor_free import decode_ltrb
from trackerzoo.geometry.motion_priors import cosine_window_at, size_change_penalty
from trackerzoo.longterm import Candidate
from trackerzoo.nn.inference import prepare_for_inference
from trackerzoo.patches import sample_patches
from trackerzoo_ibfp.decode import anchor_points
from trackerzoo_ibfp.loading import build_network
from trackerzoo_ibfp.network import IbfpNet, TrackStep
from trackerzoo_ibfp.online import OnlineBranch, upsample_to
from trackerzoo_ibfp.params import DEEPEST_STRIDE, DEFAULT_VARIANT, TRACKER_NAME, IbfpParams


class IbfpTracker(Tracker):
    """Anchor-free Siamese tracker on an instance-based feature pyramid, with an online branch."""

    Params = IbfpParams
    outputs = frozenset({"box"})
    # trackerzoo.longterm thresholds on the raw mixed score s (README, "Presence and long-term
    # mode": how they were chosen); each instance maps them through its weight file's
    # calibration (``long_term_defaults`` in __init__). ``verify_threshold`` applies to the
    # checks s_c and s_u (clipped to [0, 1]), which are not calibrated.
    raw_long_term_thresholds: ClassVar[dict[str, float]] = {"lost_threshold": 0.3, "reacquire_threshold": 0.4}
    long_term_defaults: ClassVar[dict[str, Any]] = {
        "lost_threshold": 0.3, "reacquire_threshold": 0.4, "verify_threshold": 0.35,
    }

    def __init__(self, params: IbfpParams | None = None, *, variant: str | None = DEFAULT_VARIANT,
                 weights: str | None = "default", device: torch.device | str = "cpu") -> None:
        super().__init__(params, variant=variant or DEFAULT_VARIANT, weights=weights, device=device)
        p = self.params
        self.network: IbfpNet = build_network(self.variant, weights, self.device,
                                              generator=torch.Generator().manual_seed(p.seed))
        self.network.set_backend(p.ops_backend)
        self.config = self.network.config
        self.step = self._prepare_step()
        cells = p.crop_size // self.config.stride
        self.points = anchor_points(cells, self.config.stride, self.device)
        self.window = cosine_window_at(self.points, p.crop_size, float((cells - 1) * self.config.stride))
        self.presence_map = PresenceMap.for_weights(TRACKER_NAME, self.variant, weights)
        self.long_term_defaults = {  # type: ignore[misc]  # per instance: this weight file's calibration
            **type(self).long_term_defaults,
            **{name: self.presence_map(raw) for name, raw in self.raw_long_term_thresholds.items()},
        }
        self.online_updates = True
        self._region_points: dict[int, torch.Tensor] = {}

    def _prepare_step(self) -> torch.nn.Module:
        """The per-frame network (backbone, IBU/CSCS, head) prepared once (``params.inference``)."""
        p = self.params
        step = TrackStep(self.network)
        if p.inference == "eager":
            return step
        generator = torch.Generator().manual_seed(0)  # torch's global generator is left alone
        image = torch.rand(1, 3, p.crop_size, p.crop_size, generator=generator).to(self.device)
        with torch.no_grad():
            kernels = self.network.template_kernels(self.network.features(image))
        return prepare_for_inference(step, example_inputs=[(image, *kernels)], device=self.device,
                                     exact=p.inference == "exact", channels_last=p.channels_last)

    # -- helpers -------------------------------------------------------------------------
    def _crop_side(self) -> float:
        """Side of the square crop with ``area_factor`` times the target's area (frame pixels)."""
        w, h = self.state_size
        return math.sqrt(self.params.area_factor * w * h)

    def _crop(self, image: torch.Tensor, centre: np.ndarray, side: float) -> torch.Tensor:
        size = self.params.crop_size
        centres = torch.tensor(centre, dtype=torch.float64).view(1, 2)
        sides = torch.tensor([side, side], dtype=torch.float64).view(1, 2)
        patch, _ = sample_patches(image, centres, sides, size, "replicate")
        return patch

    def _frame_tensor(self, frame: np.ndarray) -> torch.Tensor:
        image = torch.from_numpy(frame).to(self.device).permute(2, 0, 1).unsqueeze(0)
        return image.float().div_(255.0)

    # -- first frame ---------------------------------------------------------------------
    @torch.no_grad()
    def _initialize(self, frame: np.ndarray, box: tuple[float, float, float, float], mask: np.ndarray | None) -> None:
        p = self.params
        x, y, w, h = box
        self.state_centre = np.array([x + w / 2.0, y + h / 2.0], dtype=np.float64)
        self.state_size = np.array([w, h], dtype=np.float64)
        self.frame_size = np.array([frame.shape[1], frame.shape[0]], dtype=np.float64)
        self.frame_index = 0
        self.online_updates = True
        self.generator = torch.Generator().manual_seed(p.seed)
        image = self._frame_tensor(frame)
        side = self._crop_side()
        template = self._crop(image, self.state_centre, side)
        self.kernels = tuple(k.contiguous() for k in self.network.template_kernels(self.network.features(template)))
        self.online: OnlineBranch | None = None
        if p.use_online and p.offline_weight < 1.0:
            self._initialize_online(image, template, side)

    def _initialize_online(self, image: torch.Tensor, template: torch.Tensor, side: float) -> None:
        """ATOM's first-frame fit on the crop, its mirror image and four shifted crops."""
        p = self.params
        crop = p.crop_size
        scale = crop / side
        shift = p.init_shift * crop
        views, centres = [template, template.flip(-1)], [(crop / 2.0, crop / 2.0)] * 2
        for dx, dy in ((shift, 0.0), (-shift, 0.0), (0.0, shift), (0.0, -shift)):
            views.append(self._crop(image, self.state_centre + np.array([dx, dy]) / scale, side))
            centres.append((crop / 2.0 - dx, crop / 2.0 - dy))
        maps = torch.cat([self.step(view, *self.kernels)[2] for view in views])
        stride = crop / maps.shape[-1]
        self.online = OnlineBranch(p, stride, self.generator)
        target = torch.tensor(self.state_size * scale, dtype=torch.float32)
        self.online.initialize(maps, torch.tensor(centres, dtype=torch.float32), target)

    # -- every other frame -----------------------------------------------------------------
    @torch.no_grad()
    def _track(self, frame: np.ndarray) -> Prediction:
        p = self.params
        self.frame_index += 1
        image = self._frame_tensor(frame)
        side = self._crop_side()
        scale = p.crop_size / side
        crop_centre = self.state_centre.copy()
        centre_map, distances, layer4 = self.step(self._crop(image, crop_centre, side), *self.kernels)

        # Eq. 11: mix the offline centre map with the (upsampled) online response.
        scores = centre_map
        response = projected = online_map = None
        if self.online is not None:
            response, projected = self.online.scores(layer4)
            online_map = upsample_to(response, tuple(centre_map.shape[-2:])).reshape(-1)
            scores = p.offline_weight * centre_map + (1.0 - p.offline_weight) * online_map.view_as(centre_map)
        scores = scores.reshape(-1)

        # SiamFC++ ranking: size/aspect penalty and cosine window over every cell.
        boxes = xyxy_to_cxcywh(decode_ltrb(self.points, distances.reshape(4, -1).t()))
        previous = torch.tensor(self.state_size * scale, dtype=boxes.dtype, device=boxes.device)
        penalty = size_change_penalty(boxes[:, 2:].clamp_min(1e-3), previous, p.penalty_k)
        ranked = scores * penalty * (1.0 - p.window_influence) + self.window * p.window_influence
        best = int(torch.argmax(ranked))
        score = float(scores[best])
        rate = p.lr * float(penalty[best]) * min(max(score, 0.0), 1.0)
        self._move_to(boxes[best].double().cpu().numpy(), scale, rate)

        if self.online is not None and self.online_updates:
            self._online_step(projected, response, score, scale, crop_centre)
        x, y = self.state_centre - self.state_size / 2.0
        extra = {"presence_raw": score, "offline": float(centre_map.reshape(-1)[best])}
        if online_map is not None:
            extra["online"] = float(online_map[best])
        return Prediction(box=(x, y, self.state_size[0], self.state_size[1]), score=self.presence_map(score),
                          extra=extra)

    # -- long-term mode (trackerzoo.longterm.Redetector) ------------------------------------
    def presence(self, prediction: Prediction) -> float:
        """The calibrated mixed score s (Eq. 11) of the chosen cell (``Prediction.score``), in [0, 1]."""
        return float(prediction.score)

    def search_side(self) -> float:
        """Side of the search crop in frame pixels: ``sqrt(area_factor * w * h)`` of the current target."""
        return self._crop_side()

    def set_online_updates(self, enabled: bool) -> None:
        """Allow or stop every online update: the sample memory (``remember``) and the filter refits."""
        self.online_updates = bool(enabled)

    def reacquire(self, box: tuple[float, float, float, float]) -> None:
        """Continue from a verified re-detection: ``box`` (x, y, w, h, frame pixels) becomes the target.

        Raises ``ValueError`` for a box with a non-finite value or no area.
        """
        x, y, w, h = (float(v) for v in box)
        if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
            raise ValueError(f"reacquire needs a finite box with positive width and height, got {box!r}")
        self.state_centre = np.clip(np.array([x + w / 2.0, y + h / 2.0]), 0.0, self.frame_size)
        self.state_size = np.clip(np.array([w, h], dtype=np.float64), self.params.min_target_size, self.frame_size)

    def _anchor_points(self, crop: int) -> torch.Tensor:
        """Anchor points ``[n * n, 2]`` (crop pixels) of a crop of side ``crop`` pixels (cached)."""
        if crop == self.params.crop_size:
            return self.points
        if crop not in self._region_points:
            self._region_points[crop] = anchor_points(crop // self.config.stride, self.config.stride, self.device)
        return self._region_points[crop]

    @torch.no_grad()
    def score_regions(self, frame: np.ndarray, centres: np.ndarray, factor: float,
                      scale: float = 1.0) -> list[Candidate]:
        """The best cell of regions centred at ``centres`` ``[N, 2]`` (x, y frame pixels); state unchanged.

        The target is assumed ``scale`` times its last size, so the crop covers
        ``factor * sqrt(area_factor * w * h) * scale`` frame pixels at the tracking
        resolution: a crop of ``crop_size * factor`` pixels, rounded to a multiple of 32
        (``factor`` > 1 runs the untraced network, which takes any such size). The map is the
        mixed score s of Eq. 11 times the size/aspect penalty (no cosine window: the target
        may be anywhere); its best cell gives the box (size smoothed from the assumed size as
        ``track`` does), the confidence ``presence_map(s)`` and the checks ``initial`` = s_c
        (the offline map: correlation with the first-frame template kernels) and ``recent`` =
        s_u (the online filter, fitted on recent frames; s_c again without the online
        branch), both clipped to [0, 1]. Nothing is remembered or refitted. Raises
        ``ValueError`` for ``factor`` < 1 or ``scale`` <= 0.
        """
        p = self.params
        if not factor >= 1.0:
            raise ValueError(f"factor must be >= 1, got {factor!r}")
        if not scale > 0.0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        crop = max(p.crop_size, round(p.crop_size * factor / DEEPEST_STRIDE) * DEEPEST_STRIDE)
        step = self.step if crop == p.crop_size else getattr(self.step, "eager", self.step)
        points = self._anchor_points(crop)
        size = self.state_size * float(scale)
        pixels = p.crop_size / (self._crop_side() * float(scale))  # crop pixels per frame pixel
        previous = torch.tensor(size * pixels, dtype=torch.float32, device=self.device)
        image = self._frame_tensor(frame)
        candidates = []
        for centre in np.asarray(centres, dtype=np.float64).reshape(-1, 2):
            patch, _ = sample_patches(image, torch.tensor(centre, dtype=torch.float64).view(1, 2),
                                      torch.full((1, 2), crop / pixels, dtype=torch.float64), crop, "replicate")
            centre_map, distances, layer4 = step(patch, *self.kernels)
            offline = centre_map.reshape(-1)
            online = offline
            mixed = offline
            if self.online is not None:
                response, _ = self.online.scores(layer4)
                online = upsample_to(response, tuple(centre_map.shape[-2:])).reshape(-1)
                mixed = (p.offline_weight * centre_map + (1.0 - p.offline_weight) * online.view_as(centre_map)
                         ).reshape(-1)
            boxes = xyxy_to_cxcywh(decode_ltrb(points, distances.reshape(4, -1).t()))
            penalty = size_change_penalty(boxes[:, 2:].clamp_min(1e-3), previous.to(boxes.dtype), p.penalty_k)
            best = int(torch.argmax(mixed * penalty))
            score = float(mixed[best])
            rate = p.lr * float(penalty[best]) * min(max(score, 0.0), 1.0)
            box = boxes[best].double().cpu().numpy()
            box_centre = centre + (box[:2] - crop / 2.0) / pixels
            w, h = np.clip(size * (1.0 - rate) + box[2:] / pixels * rate, p.min_target_size, self.frame_size)
            candidates.append(Candidate(
                box=(float(box_centre[0] - w / 2.0), float(box_centre[1] - h / 2.0), float(w), float(h)),
                confidence=self.presence_map(score),
                checks={"initial": min(max(float(offline[best]), 0.0), 1.0),
                        "recent": min(max(float(online[best]), 0.0), 1.0)},
            ))
        return candidates

    def _move_to(self, box: np.ndarray, scale: float, rate: float) -> None:
        """Centre to the chosen box (crop pixels -> frame), size smoothed at ``rate`` (SiamFC++)."""
        crop = self.params.crop_size
        centre = self.state_centre + (box[:2] - crop / 2.0) / scale
        size = self.state_size * (1.0 - rate) + (box[2:] / scale) * rate
        self.state_centre = np.clip(centre, 0.0, self.frame_size)
        self.state_size = np.clip(size, self.params.min_target_size, self.frame_size)

    def _online_step(self, projected: torch.Tensor, response: torch.Tensor, score: float, scale: float,
                     crop_centre: np.ndarray) -> None:
        """Remember a confident frame (label at the new target position in its crop); refit when due.

        ``crop_centre``: where this frame's crop was centred (the previous state), frame pixels.
        """
        p = self.params
        online = self.online
        if score >= p.confident_score:
            target = p.crop_size / 2.0 + (self.state_centre - crop_centre) * scale
            online.remember(projected, torch.tensor(target, dtype=torch.float32),
                            torch.tensor(self.state_size * scale, dtype=torch.float32))
        if self.frame_index % p.update_interval == 0 or online.is_hard_negative(response):
            online.update()
