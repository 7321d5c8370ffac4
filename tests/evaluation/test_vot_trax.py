"""``trackerzoo vot-server`` under the real VOT toolkit, end to end through TraX.

A tiny VOT workspace is built in ``tmp_path``: two short sequences (one annotated with
rectangles, one with masks), a stack with the VOT2020 ``baseline`` (multistart)
experiment and its analyses, and a ``trackers.ini`` entry that starts
``python -m trackerzoo.cli.main vot-server --tracker kcf`` with this interpreter.
The toolkit's own ``vot evaluate`` and ``vot analysis`` code (``vot.utilities.cli``;
the ``vot`` console script itself stops early here because its update check imports
``requests``, which the toolkit is installed without) runs the tracker over TraX and
scores it; ``trackerzoo eval-results`` must give the same EAO, accuracy and
robustness on the result files the toolkit wrote.

vot-toolkit 0.9.0 (the latest release) cannot run its own multistart experiment:
``MultiStartExperiment.execute`` passes an ``ObjectStatus`` where ``ObjectQuery``
wants a region (``TypeError``), offsets the query by the anchor index inside a
sequence view that already starts there (every anchor but frame 0 would start with
no target), and indexes the per-frame times as a list of lists. The test replaces
that one method, for its own duration, with ``_execute_anchor_runs`` below, which
runs the same anchor runs without those mistakes; the stack, workspace, TraX runtime,
trajectory files and analyses are the toolkit's. The ``unsupervised`` experiment
runs unpatched.

The mask sequence makes the target jump across the frame after four frames, so the
forward run from its first frame fails: the EAO (lengths 115..755, as VOT2020) is then
above zero although the sequences are short, because a failed run keeps counting
after its end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

import cv2
import numpy as np
import pytest

import trackerzoo
from trackerzoo.cli.main import main as trackerzoo_main
from trackerzoo.formats.regions import INITIALIZATION, Mask, Rectangle, Region, format_region
from trackerzoo.formats.results_io import find_vot_result, read_vot_result

pytest.importorskip("trax", reason="the vot-trax package is not installed")
pytest.importorskip("vot.tracker.trax", reason="vot-toolkit (with vot-trax) is not installed")
pytest.importorskip("trackerzoo_opencv", reason="the OpenCV plugin (kcf) is not installed")

from vot.dataset.proxy import FrameMapSequence
from vot.experiment.multistart import MultiStartExperiment, find_anchors
from vot.region import Special
from vot.tracker import ObjectQuery, Trajectory
from vot.utilities.cli import do_analysis, do_evaluate
from vot.workspace import Workspace

WIDTH, HEIGHT = 160, 120
TRACKER_ID = "trackerzoo_kcf"
STACK = """\
title: trackerzoo TraX check
experiments:
  baseline:
    type: multistart
    analyses:
      - type: multistart_eao_score
        name: eaoscore
        low: 115
        high: 755
      - type: multistart_average_ar
        name: ar
  unsupervised:
    type: unsupervised
    repetitions: 1
    analyses:
      - type: average_accuracy
        name: accuracy
        burnin: 1
"""


def _execute_anchor_runs(self, tracker, sequence, force=False, callback=None) -> None:
    """``MultiStartExperiment.execute`` as the toolkit means it (see the module docstring).

    Each anchor starts a run in a view of the sequence that begins at the anchor and
    goes forward to the end or backward to frame 0; the run's first region is the
    initialisation marker and every later one the tracker's region, with the per-frame
    time and the properties the tracker sent.
    """
    results = self.results(tracker, sequence)
    forward, backward = find_anchors(sequence, self.anchor)
    runs = [(anchor, False) for anchor in forward] + [(anchor, True) for anchor in backward]
    if not runs:
        raise RuntimeError(f"sequence {sequence.name} has no anchors")
    with self._get_runtime(tracker, sequence) as runtime:
        for done, (anchor, backwards) in enumerate(runs, start=1):
            name = f"{sequence.name}_{anchor:08d}"
            if force or not Trajectory.exists(results, name):
                order = range(anchor, -1, -1) if backwards else range(anchor, len(sequence))
                view = FrameMapSequence(sequence, list(order))
                start = self._get_initialization(view, 0)
                status = runtime.run(view, [ObjectQuery(start.region, {}, 0)])
                trajectory = Trajectory(len(view))
                trajectory.set(0, Special(Trajectory.INITIALIZATION), {"time": status.times[0]})
                for frame in range(1, len(view)):
                    state = status.objects[0][frame]
                    trajectory.set(frame, state.region, {**state.properties, "time": status.times[frame]})
                trajectory.write(results, name)
            if callback:
                callback(done / len(runs))


def _background(rng: np.random.Generator) -> np.ndarray:
    noise = rng.integers(60, 120, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    return cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def _write_sequence(root: Path, name: str, frames: list[np.ndarray], groundtruth: list[Region],
                    anchors: dict[int, int]) -> None:
    folder = root / name
    (folder / "color").mkdir(parents=True)
    for index, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / "color" / f"{index:08d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (folder / "sequence").write_text(f"channels.color=color/%08d.png\nfps=30\nformat=default\n"
                                     f"width={WIDTH}\nheight={HEIGHT}\n")
    (folder / "groundtruth.txt").write_text("".join(format_region(region) + "\n" for region in groundtruth))
    (folder / "anchor.value").write_text("".join(f"{anchors.get(i, 0)}\n" for i in range(len(frames))))


def _write_sequences(root: Path) -> None:
    """``boxes``: a textured square drifting (12 frames); ``blob``: a disc that jumps (15 frames)."""
    rng = np.random.default_rng(21)
    background = _background(rng)
    patch = np.kron(rng.integers(0, 2, (4, 4, 1)) * 255, np.ones((5, 5, 3))).astype(np.uint8)  # 20x20 checks
    frames, boxes = [], []
    for i in range(12):
        x, y = 30 + 4 * i, 40 + i
        frame = background.copy()
        frame[y:y + 20, x:x + 20] = patch
        frames.append(frame)
        boxes.append(Rectangle(x, y, 20, 20))
    _write_sequence(root, "boxes", frames, boxes, {0: 1, 6: 1, 11: -1})

    rows, columns = np.mgrid[0:HEIGHT, 0:WIDTH]
    colours = np.array([[230, 40, 40], [40, 40, 230]], dtype=np.uint8)
    frames, masks = [], []
    for i in range(15):
        cx, cy = (40 + i, 60) if i < 4 else (125, 35)
        disc = (columns - cx) ** 2 + (rows - cy) ** 2 <= 11 ** 2
        frame = background.copy()
        frame[disc] = colours[((columns[disc] - cx) // 4 + (rows[disc] - cy) // 4) % 2]
        frames.append(frame)
        masks.append(Mask(disc[cy - 12:cy + 13, cx - 12:cx + 13], (cx - 12, cy - 12)))
    _write_sequence(root, "blob", frames, masks, {0: 1, 14: -1})
    (root / "list.txt").write_text("boxes\nblob\n")


def _tracker_environment() -> str:
    """PYTHONPATH for the tracker process: where this process found trackerzoo and its plugin."""
    import trackerzoo_opencv

    folders = [str(Path(trackerzoo.__file__).resolve().parents[1]),
               str(Path(trackerzoo_opencv.__file__).resolve().parents[1])]
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(folders + ([inherited] if inherited else []))


def _write_workspace(workspace: Path) -> None:
    _write_sequences(workspace / "sequences")
    (workspace / "results").mkdir()
    (workspace / "stack.yaml").write_text(STACK)
    (workspace / "config.yaml").write_text("registry:\n- ./trackers.ini\nstack: stack.yaml\nsequences: sequences\n")
    (workspace / "trackers.ini").write_text(
        f"[{TRACKER_ID}]\n"
        "label = trackerzoo kcf\n"
        "protocol = trax\n"
        f"command = {sys.executable} -m trackerzoo.cli.main vot-server --tracker kcf --device cpu\n"
        f"env_PYTHONPATH = {_tracker_environment()}\n"
        "env_OMP_NUM_THREADS = 1\n"
        "timeout = 120\n")


def _eval_results(sequences: Path, results: Path) -> dict:
    captured = io.StringIO()
    with redirect_stdout(captured):
        status = trackerzoo_main(["eval-results", "--dataset", f"vot:{sequences}",
                                  "--results", str(results), "--json"])
    assert status == 0
    return json.loads(captured.getvalue())


def _toolkit_measures(workspace: Path, report: dict, experiment: str) -> dict[str, float]:
    """Measures of our tracker from a ``vot analysis`` JSON report, by abbreviation.

    The report lists, per experiment, each analysis's results in stack order (one row
    per tracker, one value per measure) without naming them; the names come from the
    analyses' own ``describe()``.
    """
    stack = Workspace.load(str(workspace)).stack
    measures: dict[str, float] = {}
    for analysis, result in zip(stack[experiment].analyses, report["results"][experiment]["results"], strict=True):
        (row,) = result  # one tracker
        for description, value in zip(analysis.describe(), row, strict=True):
            if description is not None and getattr(description, "abbreviation", None) is not None:
                measures[description.abbreviation or type(analysis).__name__] = value
    return measures


@pytest.mark.slow  # four tracker processes (one per experiment and sequence), each importing torch
def test_vot_toolkit_runs_trackerzoo_through_trax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MultiStartExperiment, "execute", _execute_anchor_runs)
    workspace = tmp_path / "workspace"
    _write_workspace(workspace)

    do_evaluate(argparse.Namespace(workspace=str(workspace), trackers=[TRACKER_ID], force=False, persist=False,
                                   experiments=None))
    results = workspace / "results" / TRACKER_ID
    lengths = {"boxes": 12, "blob": 15}
    for sequence, anchors in {"boxes": {0: 12, 6: 6, 11: 12}, "blob": {0: 15, 14: 15}}.items():
        for anchor, length in anchors.items():
            path = find_vot_result(results / "baseline", sequence, anchor)
            assert path is not None, f"the toolkit wrote no run {sequence}/{anchor} under {results}"
            regions = read_vot_result(path)
            assert len(regions) == length and regions[0] == INITIALIZATION
            assert all(isinstance(r, Rectangle) for r in regions[1:])  # kcf reports boxes
            confidences = path.with_name(f"{path.stem}_confidence.value").read_text().splitlines()
            assert len(confidences) == length and set(confidences[1:]) <= {"0.0", "1.0"}  # kcf's score came through
        unsupervised = read_vot_result(results / "unsupervised" / sequence / f"{sequence}_001.bin")
        assert len(unsupervised) == lengths[sequence] and unsupervised[0] == INITIALIZATION

    do_analysis(argparse.Namespace(workspace=str(workspace), trackers=[TRACKER_ID], format="json", name="check",
                                   sequences=None, experiments=None, debug=False))
    report = json.loads((workspace / "analysis" / "check.json").read_text())
    toolkit = _toolkit_measures(workspace, report, "baseline")
    unsupervised = _toolkit_measures(workspace, report, "unsupervised")
    ours = _eval_results(workspace / "sequences", results / "baseline")

    assert 0.0 < ours["robustness"] < 1.0  # the jump makes one run fail
    assert ours["eao"] > 0.0
    assert ours["eao"] == pytest.approx(toolkit["EAO"], abs=1e-9)
    assert ours["accuracy"] == pytest.approx(toolkit["A"], abs=1e-9)
    assert ours["robustness"] == pytest.approx(toolkit["R"], abs=1e-9)
    assert 0.0 < unsupervised["AverageAccuracy"] <= 1.0  # the unpatched experiment was scored too
