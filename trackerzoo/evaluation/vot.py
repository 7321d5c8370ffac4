"""VOT2020/VOT2021 short-term metrics: anchor-based accuracy, robustness and EAO.

Reimplemented from the challenge definitions and checked against ``vot-toolkit``
(``vot.analysis.multistart``) on random trajectories:

* every anchor frame starts an independent run: a forward anchor ``a`` runs over
  frames ``a .. T-1``, a backward anchor over ``a, a-1 .. 0``;
* overlaps are raster IoUs of regions clipped to the image (``regions``); two empty
  regions overlap 1. The first line of a run is the initialisation marker, which
  scores overlap 0 against a non-empty ground truth, exactly as in the toolkit;
* a run fails when the overlap is <= 0.1 on 10 consecutive frames whose ground truth
  is non-empty; the failure frame is the first of that streak. **Absent targets**
  (empty ground-truth region) never count towards a failure and reset the streak;
  their overlap (1 when the tracker also reports nothing, else 0) still enters the
  accuracy and EAO like any other frame, as in the toolkit;
* accuracy of a sequence = overlaps summed over the frames before failure of all its
  runs / the number of those frames; robustness = those frames / all run frames.
  Dataset accuracy weighs sequences by their frames-before-failure, dataset
  robustness by their length (the toolkit's weights);
* EAO: for each run the overlaps after a failure are set to 0; the expected-overlap
  curve at length ``j`` (1 <= j < high) averages, over the runs that are active at
  ``j``, the mean overlap of frames ``1..j`` -- or, for a failed run shorter than
  ``j``, its overlap sum over frames ``1..`` divided by ``j - 1`` (this divisor is the
  toolkit's, kept so scores are comparable). Runs that end without failure stop
  counting after their end. EAO is the mean of the curve over ``low..high`` with the
  curve holding indices ``0..high-1`` (so index ``high`` itself is not part of it).
  When no run is active at any length of that interval (every run ended, without
  failing, before ``low`` frames: sequences shorter than the interval) there is nothing
  to average and the EAO is NaN, with a ``NothingToScoreWarning`` saying why.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field

import numpy as np

from trackerzoo.errors import NothingToScoreWarning
from trackerzoo.formats.regions import Region, region_is_empty, region_overlaps

FAILURE_THRESHOLD = 0.1
FAILURE_GRACE = 10
EAO_LOW = 115
EAO_HIGH = 755


@dataclass(frozen=True)
class AnchorRun:
    start: int
    reverse: bool

    def frames(self, length: int) -> list[int]:
        """Frame indices of the run in the order the tracker sees them."""
        if not 0 <= self.start < length:
            raise ValueError(f"anchor {self.start} outside a sequence of {length} frames")
        return list(range(self.start, -1, -1)) if self.reverse else list(range(self.start, length))


def anchor_runs(forward: SequenceABC[int], backward: SequenceABC[int] = ()) -> list[AnchorRun]:
    """Runs in the toolkit's order: forward anchors first, then backward ones."""
    return [AnchorRun(int(a), False) for a in forward] + [AnchorRun(int(a), True) for a in backward]


def sequence_anchor_runs(sequence) -> list[AnchorRun]:
    """Runs of a ``trackerzoo.datasets.Sequence`` (anchors + ``attributes['backward_anchors']``)."""
    anchors = sequence.anchors
    if not anchors:
        raise ValueError(f"sequence {sequence.name!r} has no anchors")
    backward = set(sequence.attributes.get("backward_anchors", ()))
    return anchor_runs([a for a in anchors if a not in backward], [a for a in anchors if a in backward])


@dataclass
class RunScore:
    overlaps: np.ndarray  # raw overlaps of every frame of the run
    progress: int  # frames before failure (= run length when it did not fail)

    @property
    def length(self) -> int:
        return int(self.overlaps.size)

    @property
    def failed(self) -> bool:
        return self.progress < self.length


def failure_progress(overlaps: np.ndarray, groundtruth_empty: np.ndarray, *,
                     threshold: float = FAILURE_THRESHOLD, grace: int = FAILURE_GRACE) -> int:
    """Frames before the failure: the start of the first streak of ``grace`` bad frames."""
    streak = 0
    for index, (overlap, empty) in enumerate(zip(overlaps, groundtruth_empty, strict=True)):
        if overlap <= threshold and not empty:
            streak += 1
            if streak == grace:
                return index + 1 - grace
        else:
            streak = 0
    return len(overlaps)


def score_run(predicted: SequenceABC[Region], groundtruth: SequenceABC[Region],
              image_size: tuple[int, int], *, threshold: float = FAILURE_THRESHOLD,
              grace: int = FAILURE_GRACE) -> RunScore:
    """Overlaps and failure point of one run (regions already in run order)."""
    if len(predicted) != len(groundtruth):
        raise ValueError(f"run has {len(predicted)} predicted regions for {len(groundtruth)} frames")
    overlaps = region_overlaps(list(predicted), list(groundtruth), image_size)
    empty = np.array([region_is_empty(region) for region in groundtruth], dtype=bool)
    return RunScore(overlaps, failure_progress(overlaps, empty, threshold=threshold, grace=grace))


def expected_overlap_sums(runs: SequenceABC[RunScore], high: int = EAO_HIGH) -> tuple[np.ndarray, np.ndarray]:
    """Per-length sums of run contributions and the number of active runs (toolkit EAO)."""
    phi = np.zeros(high)
    active = np.zeros(high)
    lengths = np.arange(high)
    for run in runs:
        overlaps = run.overlaps.copy()
        overlaps[run.progress:] = 0.0
        n = overlaps.size
        tail = np.cumsum(overlaps[1:])  # tail[j-1] = sum of frames 1..j
        inside = (lengths >= 1) & (lengths < n)
        phi[inside] += tail[lengths[inside] - 1] / lengths[inside]
        active[inside] += 1
        if run.failed:
            beyond = (lengths >= 1) & (lengths >= n)
            total = tail[-1] if tail.size else 0.0
            phi[beyond] += total / (lengths[beyond] - 1)
            active[beyond] += 1
    return phi, active


@dataclass
class VOTResult:
    accuracy: float
    robustness: float
    eao: float
    eao_curve: np.ndarray
    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, float | int]:
        return {"eao": self.eao, "accuracy": self.accuracy, "robustness": self.robustness,
                "sequences": len(self.per_sequence)}


@dataclass
class VOTTruth:
    """What the metric needs of one sequence: regions, image size, anchor runs."""

    regions: list[Region]
    image_size: tuple[int, int]  # (width, height)
    runs: list[AnchorRun]


def evaluate_vot(truth: Mapping[str, VOTTruth], predictions: Mapping[str, Mapping[int, SequenceABC[Region]]], *,
                 low: int = EAO_LOW, high: int = EAO_HIGH, threshold: float = FAILURE_THRESHOLD,
                 grace: int = FAILURE_GRACE) -> VOTResult:
    """Score every anchor run of every sequence; ``predictions[seq][anchor]`` is one run.

    A missing run is an error naming it: a partial evaluation would not be comparable.
    """
    if not truth:
        raise ValueError("no sequences to evaluate")
    if not 0 <= low < high:
        raise ValueError(f"EAO interval [{low}, {high}] is empty")
    accuracy_sum = accuracy_weight = robustness_sum = robustness_weight = 0.0
    phi_total = np.zeros(high)
    active_total = np.zeros(high)
    per_sequence: dict[str, dict[str, float]] = {}
    for name, seq in truth.items():
        runs_of_seq = predictions.get(name, {})
        scores = []
        for run in seq.runs:
            if run.start not in runs_of_seq:
                raise ValueError(f"no result for sequence {name!r} anchor {run.start}")
            frames = run.frames(len(seq.regions))
            predicted = runs_of_seq[run.start]
            if len(predicted) != len(frames):
                raise ValueError(f"result for {name!r} anchor {run.start} has {len(predicted)} regions, "
                                 f"the run has {len(frames)} frames")
            scores.append(score_run(predicted, [seq.regions[i] for i in frames], seq.image_size,
                                    threshold=threshold, grace=grace))
        before_failure = sum(s.progress for s in scores)
        overlap_sum = sum(float(np.sum(s.overlaps[:s.progress])) for s in scores)
        run_frames = sum(s.length for s in scores)
        seq_accuracy = overlap_sum / before_failure if before_failure > 0 else 0.0
        seq_robustness = before_failure / run_frames
        per_sequence[name] = {"accuracy": seq_accuracy, "robustness": seq_robustness, "runs": len(scores)}
        accuracy_sum += seq_accuracy * before_failure
        accuracy_weight += before_failure
        robustness_sum += seq_robustness * len(seq.regions)
        robustness_weight += len(seq.regions)
        phi, active = expected_overlap_sums(scores, high)
        phi_total += phi
        active_total += active
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = np.where(active_total > 0, phi_total / np.maximum(active_total, 1), 0.0)
    if active_total[low:high + 1].any():
        eao = float(np.mean(curve[low:high + 1]))
    else:
        longest = max(len(seq.regions) for seq in truth.values())
        warnings.warn(f"VOT EAO is undefined (NaN): no run reaches the EAO interval [{low}, {high}] frames "
                      f"(the longest sequence has {longest} frames and no run failed, so every run ended before "
                      f"frame {low})", NothingToScoreWarning, stacklevel=2)
        eao = math.nan
    return VOTResult(
        accuracy=accuracy_sum / accuracy_weight if accuracy_weight > 0 else 0.0,
        robustness=robustness_sum / robustness_weight,
        eao=eao,
        eao_curve=curve,
        per_sequence=per_sequence,
    )
