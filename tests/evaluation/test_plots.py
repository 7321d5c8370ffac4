"""Plots: one colour per run in every panel, titles without repetition, the EAO interval drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from trackerzoo.evaluation.ope import PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS
from trackerzoo.evaluation.plots import (
    EAO_INTERVAL_GID,
    eao_figure,
    plot_runs,
    plot_title,
    success_precision_figure,
)
from trackerzoo.evaluation.runner_scoring import ScoredRun
from trackerzoo.evaluation.vot import EAO_HIGH, EAO_LOW


def _ope_run(label: str, success: float, precision: float) -> ScoredRun:
    """Flat curves: mean success ``success`` (AUC), precision ``precision`` at every threshold."""
    return ScoredRun(label, Path(label), {"auc": success, "precision": precision},
                     success_curve=np.full(len(SUCCESS_THRESHOLDS), success),
                     precision_curve=np.full(len(PRECISION_THRESHOLDS), precision))


def _colours_by_run(axis) -> dict[str, tuple[float, ...]]:
    """Legend label (the run's name, before its ``[value]``) -> RGBA of its line."""
    return {line.get_label().split(" [")[0]: to_rgba(line.get_color()) for line in axis.get_lines()}


def test_a_run_keeps_its_colour_in_both_panels_whatever_the_ranking():
    # The success ranking (b, c, a) differs from the precision ranking (a, c, b): each legend
    # sorts differently, which is what gave csrt two colours before.
    runs = [_ope_run("a", 0.3, 0.9), _ope_run("b", 0.7, 0.2), _ope_run("c", 0.5, 0.5)]
    figure = success_precision_figure(runs, title="zsv (synthetic)")
    try:
        success_axis, precision_axis = figure.axes
        success, precision = _colours_by_run(success_axis), _colours_by_run(precision_axis)
        assert [line.get_label().split(" [")[0] for line in success_axis.get_lines()] == ["b", "c", "a"]
        assert [line.get_label().split(" [")[0] for line in precision_axis.get_lines()] == ["a", "c", "b"]
        assert success == precision
        assert len(set(success.values())) == 3  # three runs, three colours
        # The first run (eval's --out) takes the first colour of the cycle.
        assert success["a"] == to_rgba("tab:blue")
        # Titles: the dataset once (figure), what each panel's legend numbers are (panels).
        assert figure.get_suptitle() == "zsv (synthetic)"
        assert success_axis.get_title() == "Success (legend: AUC)"
        assert precision_axis.get_title() == "Precision (legend: at 20 px)"
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)


def test_eao_plot_shades_the_eao_interval_and_keeps_colours():
    curve = np.linspace(0.8, 0.2, EAO_HIGH)
    runs = [ScoredRun(name, Path(name), {"eao": value}, eao_curve=curve * value)
            for name, value in (("csrt", 0.5), ("cract", 0.9))]
    figure = eao_figure(runs, title="vot2020")
    try:
        (axis,) = figure.axes
        spans = [patch for patch in axis.patches if patch.get_gid() == EAO_INTERVAL_GID]
        assert len(spans) == 1
        span = spans[0]  # a Rectangle: x in data units (sequence length)
        assert span.get_x() == pytest.approx(EAO_LOW)
        assert span.get_x() + span.get_width() == pytest.approx(EAO_HIGH - 1)
        assert "EAO interval" in spans[0].get_label()
        colours = _colours_by_run(axis)
        assert colours["csrt"] != colours["cract"]
        # The dashed EAO level of each run spans the interval, in the run's colour.
        levels = [collection for collection in axis.collections if collection.get_linestyle()[0][1] is not None]
        assert len(levels) == 2
        for level, run in zip(levels, runs, strict=True):
            (segment,) = level.get_segments()
            assert segment[:, 0].tolist() == [EAO_LOW, EAO_HIGH - 1]
            assert segment[:, 1].tolist() == [run.metrics["eao"]] * 2
            assert to_rgba(level.get_colors()[0]) == colours[run.label]
        assert axis.get_title() == "vot2020"
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)


def test_plot_runs_writes_a_png_of_the_right_kind(tmp_path):
    ope = plot_runs([_ope_run("a", 0.4, 0.6)], tmp_path / "ope.png")
    vot = plot_runs([ScoredRun("v", tmp_path, {"eao": 0.3}, eao_curve=np.full(40, 0.3))], tmp_path / "vot.png")
    for path in (ope, vot):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no OPE curves"):
        plot_runs([ScoredRun("x", tmp_path, {})], tmp_path / "none.png")


@pytest.mark.parametrize(("name", "kind", "title"), [
    ("zoo-synth-val", "synthetic", "zoo-synth-val (synthetic)"),
    ("vot2020", "vot", "vot2020"),
    ("OTB", "otb", "OTB"),
])
def test_plot_title_names_the_kind_once(name, kind, title):
    assert plot_title(name, kind) == title
