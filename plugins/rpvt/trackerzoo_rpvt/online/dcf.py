"""D3S's geometrically constrained module (GEM): ATOM's online DCF.

Source: ATOM (Danelljan et al., CVPR 2019) ``pytracking/tracker/atom`` as D3S configures
it (``pytracking/tracker/segm/segm.py``, ``parameter/segm/default_params.py``): features
normalised to unit RMS (``normalize_power=2``), a 1x1 projection to 64 channels
initialised by PCA, a 4x4 filter; the first frame is fitted by Gauss-Newton + CG on
(projection, filter) over augmented samples, later frames only the filter by a few CG
iterations on the sample memory, every ``train_skipping`` frames or at once on a hard
negative. The optimisation is ``trackerzoo.learners.GaussNewtonDCFLearner`` (which runs
``trackerzoo.ops.dcf_cg`` / ``dcf_normal_apply``) with a ``SampleMemory``.

Differences from ATOM, stated: the learner's loss is linear least squares, so the
``mlu`` response activation is applied only when localising (it is monotone: the peak
does not move, the hard-negative ratio does); the first-frame augmentations are flip,
two blurs and four shifts (no rotations or dropout).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from trackerzoo.labels import gaussian_label_map
from trackerzoo.learners import GaussNewtonDCFLearner, SampleMemory, apply_filter

SHIFTS = ((0.25, 0.25), (-0.25, 0.25), (0.25, -0.25), (-0.25, -0.25))  # x, y as fractions of the patch (ATOM)


def normalize_features(x: torch.Tensor) -> torch.Tensor:
    """ATOM's ``normalize_power=2``: features [N, C, H, W] divided by their root mean square per sample."""
    rms = (x * x).flatten(1).mean(dim=1).clamp_min(1e-10).sqrt()
    return x / rms.view(-1, 1, 1, 1)


def pca_projection(x: torch.Tensor, dim: int) -> torch.Tensor:
    """ATOM's ``proj_init_method='pca'``: the ``dim`` leading principal directions [dim, C] of x [N, C, H, W]."""
    flat = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1)
    flat = flat - flat.mean(dim=1, keepdim=True)
    cov = flat @ flat.T / flat.shape[1]
    u, _, _ = torch.linalg.svd(cov)
    return u[:, :dim].T.contiguous()


def mlu(x: torch.Tensor, a: float) -> torch.Tensor:
    """pytracking's ``mlu``: ``elu(leaky_relu(x, 1/a), a)``; ``a = 0`` is the identity."""
    if a <= 0:
        return x
    return F.elu(F.leaky_relu(x, 1.0 / a), a)


@dataclasses.dataclass
class Localization:
    """Peak of one score map: displacement of the target from the patch centre (feature cells, x, y)."""

    displacement: torch.Tensor  # [2] (dx, dy) in feature cells
    score: float
    flag: str  # "normal" | "hard_negative"


class OnlineDCF:
    """GEM: holds the DCF, its sample memory and the label geometry of one sequence.

    Args:
        params: ``RpvtParams`` (filter/projection sizes and regularisation, iterations, memory, thresholds).
        feature_size: side of the level-3 map of the DCF patch (cells).
        sigma: label standard deviation in cells.
        backend: ``trackerzoo.ops`` backend.
    """

    def __init__(self, params, feature_size: int, sigma: float, backend: str = "auto"):
        self.p = params
        self.feature_size = int(feature_size)
        self.sigma = float(sigma)
        self.learner = GaussNewtonDCFLearner(
            params.filter_size, projection_dim=params.projection_dim, filter_reg=params.filter_reg,
            projection_reg=params.projection_reg, init_gn_iters=params.init_gn_iters,
            init_cg_iters=params.init_cg_iters, update_cg_iters=params.update_cg_iters,
            update_interval=params.train_skipping, backend=backend,
        )
        self.memory = SampleMemory(params.memory_size, params.learning_rate)
        pad = params.filter_size // 2
        self.output_size = self.feature_size + 2 * pad - params.filter_size + 1
        # Output cell j sees feature coordinate j + (filter_size - 1) / 2 - pad + 0.5 at its centre.
        self.offset = (params.filter_size - 1) / 2.0 - pad
        hann = torch.hann_window(self.output_size + 2, periodic=False)[1:-1]
        self.window = (hann[:, None] * hann[None, :]).view(1, 1, self.output_size, self.output_size)

    def labels(self, displacements: torch.Tensor) -> torch.Tensor:
        """Gaussian labels [N, 1, S, S] for targets displaced [N, 2] (cells) from the patch centre."""
        centre = self.feature_size / 2.0 - self.offset
        return gaussian_label_map(centre + displacements.double(), self.sigma,
                                  (self.output_size, self.output_size)).float()

    def initialize(self, features: torch.Tensor, displacements: torch.Tensor,
                   generator: torch.Generator | None = None) -> None:
        """First-frame fit on normalised level-3 features [N, C, H, W] of the (augmented) patches."""
        y = self.labels(displacements)
        dim = min(self.p.projection_dim, features.shape[1])
        self.learner.projection_dim = dim
        self.learner.initialize(features, y, initial_projection=pca_projection(features, dim), generator=generator)
        self.memory.initialize({"x": self.learner.project(features), "y": y})
        # The first-frame filter, kept for long-term verification (the later refits change only the filter).
        self.initial_filter = self.learner.filter.clone()

    def scores(self, features: torch.Tensor, window: bool = True, initial: bool = False) -> torch.Tensor:
        """Activated scores [N, 1, S, S] of normalised features [N, C, H, W], Hann-windowed by default.

        ``window=False`` (a patch of any size, e.g. a wider re-detection region) leaves the
        scores unwindowed; the window exists only for the tracking patch's output size.
        ``initial=True`` scores with the first-frame filter instead of the current one.
        Reads the filters, changes nothing.
        """
        projected = self.learner.project(features)
        if initial:
            raw = apply_filter(projected, self.initial_filter, self.learner.padding)
        else:
            raw = self.learner.scores(projected)
        raw = mlu(raw, self.p.response_activation)
        return raw * self.window.to(raw) if window else raw

    def peak(self, scores: torch.Tensor) -> tuple[torch.Tensor, float, tuple[int, int]]:
        """Highest score of a map [1, 1, Sy, Sx] of any size: (cell offset, value, (row, column)).

        The offset (x, y, float64 cells) is from the patch centre, the output cell
        ``S_features / 2 - offset - 0.5`` of the map's own feature size
        (``S + filter_size - 1 - 2 * pad``), as in ``localize``.
        """
        s = scores[0, 0]
        rows, columns = s.shape
        index = int(torch.argmax(s))
        iy, ix = divmod(index, columns)
        pad = self.p.filter_size // 2
        grow = self.p.filter_size - 1 - 2 * pad  # feature cells = output cells + grow
        centre_x = (columns + grow) / 2.0 - self.offset - 0.5
        centre_y = (rows + grow) / 2.0 - self.offset - 0.5
        return torch.tensor([ix - centre_x, iy - centre_y], dtype=torch.float64), float(s[iy, ix]), (iy, ix)

    def localize(self, scores: torch.Tensor, target_cells: torch.Tensor) -> Localization:
        """ATOM's ``localize_advanced`` without the not-found/distractor branches (D3S disables them).

        ``target_cells`` [2]: target size (w, h) in cells, for the neighbourhood masked around the peak.
        """
        s = scores[0, 0]
        size = s.shape[-1]
        index = int(torch.argmax(s))
        iy, ix = divmod(index, size)
        max1 = float(s[iy, ix])
        centre = self.feature_size / 2.0 - self.offset - 0.5  # the cell whose centre is the patch centre
        displacement = torch.tensor([ix - centre, iy - centre], dtype=torch.float64)
        half = (self.p.target_neighborhood_scale * target_cells.double() / 2.0).tolist()
        masked = s.clone()
        x0, x1 = max(0, round(ix - half[0])), min(size, round(ix + half[0]) + 1)
        y0, y1 = max(0, round(iy - half[1])), min(size, round(iy + half[1]) + 1)
        masked[y0:y1, x0:x1] = -float("inf")
        max2 = float(masked.max()) if torch.isfinite(masked).any() else -float("inf")
        flag = "hard_negative" if max2 > self.p.hard_negative_threshold * max1 and max2 > 0.1 else "normal"
        return Localization(displacement, max1, flag)

    def update(self, features: torch.Tensor, displacement: torch.Tensor, frame_index: int, hard_negative: bool,
               add_sample: bool) -> None:
        """Store the frame's sample (target ``displacement`` cells from its patch centre) and refit when due."""
        if add_sample:
            lr = self.p.hard_negative_learning_rate if hard_negative else None
            self.memory.insert({"x": self.learner.project(features)[0], "y": self.labels(displacement.view(1, 2))[0]},
                               learning_rate=lr)
        if hard_negative or (frame_index - 1) % self.p.train_skipping == 0:
            self.learner.update(self.memory["x"], self.memory["y"], self.memory.weights)


def first_frame_views(crop, patch: torch.Tensor, augment: bool) -> tuple[list[torch.Tensor], torch.Tensor]:
    """ATOM-style first-frame samples: the patch, its mirror, two blurs and four shifted crops.

    ``crop(shift_xy_fraction)`` returns the patch re-cropped with the target moved by that
    fraction of the patch side. Returns the patches and the target displacements [N, 2] as
    fractions of the patch side.
    """
    views = [patch]
    shifts = [(0.0, 0.0)]
    if augment:
        views.append(torch.flip(patch, dims=[-1]))
        shifts.append((0.0, 0.0))
        for sigma in (1.0, 2.0):
            radius = int(3 * sigma)
            t = torch.arange(-radius, radius + 1, dtype=patch.dtype)
            k = torch.exp(-0.5 * (t / sigma) ** 2)
            k = (k / k.sum()).to(patch.device)
            c = patch.shape[1]
            blurred = F.conv2d(F.pad(patch, (radius, radius, 0, 0), mode="replicate"),
                               k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
            blurred = F.conv2d(F.pad(blurred, (0, 0, radius, radius), mode="replicate"),
                               k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
            views.append(blurred)
            shifts.append((0.0, 0.0))
        for shift in SHIFTS:
            views.append(crop(shift))
            shifts.append(shift)
    return views, torch.tensor(shifts, dtype=torch.float64)
