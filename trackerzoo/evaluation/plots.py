"""Success/precision and expected-overlap plots comparing any number of result folders.

matplotlib is used with the Agg backend (selected here, before pyplot is imported)
so plots render on headless machines and in worker processes without a display.

Every run keeps one colour in every panel of a figure (``run_colours``: the runs in the
order given -- ``--out`` first, then each ``--compare`` folder -- take the colours of
matplotlib's ``tab10`` cycle, ``tab20`` beyond ten runs), whatever order a panel's
legend sorts them in. The VOT plot shades the sequence-length interval the EAO
averages (``EAO_LOW``..``EAO_HIGH - 1`` of ``trackerzoo.evaluation.vot``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trackerzoo.evaluation.ope import PRECISION_AT, PRECISION_THRESHOLDS
from trackerzoo.evaluation.vot import EAO_HIGH, EAO_LOW

EAO_INTERVAL_GID = "eao-interval"  # matplotlib ``gid`` of the shaded EAO interval (tests find it by this)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_title(dataset_name: str, kind: str) -> str:
    """``"name (kind)"``, or the name alone when it already contains the kind (``vot2020``, not ``vot2020 (vot)``)."""
    if not kind or kind.lower() in dataset_name.lower():
        return dataset_name
    return f"{dataset_name} ({kind})"


def run_colours(runs: Sequence) -> list[tuple[float, float, float, float]]:
    """One RGBA colour per run, by position: the same run gets the same colour in every panel."""
    import matplotlib

    palette = matplotlib.colormaps["tab10" if len(runs) <= 10 else "tab20"]
    count = palette.N
    return [palette(index % count) for index in range(len(runs))]


def _legend_label(label: str, value: float) -> str:
    """Long labels (ablation rows name their parameters) wrapped so both panels keep their width."""
    return textwrap.fill(f"{label} [{value:.3f}]", width=42, subsequent_indent="  ")


def plot_success_precision(runs, path: str | Path, title: str = "") -> Path:
    """``success_precision_figure`` saved as a PNG at ``path`` (folders created); returns the path."""
    return _save(success_precision_figure(runs, title), path)


def success_precision_figure(runs, title: str = ""):
    """A matplotlib figure, two panels: success (legend: AUC) and precision (legend: precision at 20 px).

    A run's success curve may have any number of evenly spaced overlap thresholds over
    [0, 1] (OPE: 21, GOT-10k: 101); runs without a precision curve (GOT-10k protocol)
    are left out of the precision panel. Raises ``ValueError`` when no run has curves.
    """
    plt = _pyplot()
    usable = [run for run in runs if run.success_curve is not None]
    if not usable:
        raise ValueError("no OPE curves to plot (VOT results are plotted with plot_eao)")
    # Long labels (ablation rows) would cover the curves: their legends go below the panels,
    # in a taller figure so that the panels keep their size.
    below = any(len(run.label) > 30 for run in usable)
    height = 4.5 + (0.5 * len(usable) + 0.5 if below else 0.0)
    figure, (success_axis, precision_axis) = plt.subplots(1, 2, figsize=(11, height))
    colours = dict(zip(map(id, usable), run_colours(usable), strict=True))
    for run in sorted(usable, key=lambda r: -float(np.mean(r.success_curve))):
        auc = float(np.mean(run.success_curve))
        thresholds = np.linspace(0.0, 1.0, len(run.success_curve))  # OPE: SUCCESS_THRESHOLDS exactly
        success_axis.plot(thresholds, run.success_curve, linewidth=2, color=colours[id(run)],
                          label=_legend_label(run.label, auc))
    with_precision = [run for run in usable if run.precision_curve is not None]
    for run in sorted(with_precision, key=lambda r: -float(r.precision_curve[PRECISION_AT])):
        value = float(run.precision_curve[PRECISION_AT])
        precision_axis.plot(PRECISION_THRESHOLDS, run.precision_curve, linewidth=2, color=colours[id(run)],
                            label=_legend_label(run.label, value))
    # Panel titles name what the legend's numbers are; the figure title names the dataset.
    success_axis.set(xlabel="Overlap threshold", ylabel="Success rate", xlim=(0, 1), ylim=(0, 1),
                     title="Success (legend: AUC)")
    precision_axis.set(xlabel="Location error threshold (px)", ylabel="Precision", xlim=(0, 50), ylim=(0, 1),
                       title=f"Precision (legend: at {PRECISION_AT} px)")
    if not with_precision:
        precision_axis.text(25, 0.5, "no precision curve (GOT-10k protocol)", ha="center")
    for axis in (success_axis, precision_axis):
        axis.grid(alpha=0.3)
        if not axis.get_lines():
            continue
        if below:
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize="small")
        else:
            axis.legend(loc="lower left" if axis is success_axis else "lower right", fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_eao(runs, path: str | Path, title: str = "") -> Path:
    """``eao_figure`` saved as a PNG at ``path`` (folders created); returns the path."""
    return _save(eao_figure(runs, title), path)


def eao_figure(runs, title: str = ""):
    """A matplotlib figure of the expected-overlap curves (VOT), legend: EAO; the EAO interval shaded.

    Each run's EAO is also drawn as a dashed level over that interval, in its curve's
    colour. Raises ``ValueError`` when no run has an expected-overlap curve.
    """
    plt = _pyplot()
    usable = [run for run in runs if run.eao_curve is not None]
    if not usable:
        raise ValueError("no expected-overlap curves to plot")
    figure, axis = plt.subplots(figsize=(6, 4.5))
    longest = max(len(run.eao_curve) for run in usable)
    low, high = EAO_LOW, min(EAO_HIGH, longest) - 1
    axis.axvspan(low, high, color="0.85", alpha=0.6, zorder=0, gid=EAO_INTERVAL_GID,
                 label=f"EAO interval {low}-{high}")
    for run, colour in zip(usable, run_colours(usable), strict=True):
        eao = float(run.metrics.get("eao", float("nan")))
        axis.plot(np.arange(len(run.eao_curve)), run.eao_curve, linewidth=2, color=colour,
                  label=_legend_label(run.label, eao))
        axis.hlines(eao, low, high, colors=[colour], linestyles="dashed", linewidth=1)
    axis.set(xlabel="Sequence length (frames)", ylabel="Expected overlap", ylim=(0, 1),
             title=title or "Expected overlap")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def plot_runs(runs, path: str | Path, title: str = "") -> Path:
    """``plot_eao`` when the runs have expected-overlap curves (VOT), else ``plot_success_precision``."""
    if any(getattr(run, "eao_curve", None) is not None for run in runs):
        return plot_eao(runs, path, title=title)
    return plot_success_precision(runs, path, title=title)


def _save(figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(target, dpi=110, bbox_inches="tight")  # keeps legends placed outside the axes
    finally:
        _pyplot().close(figure)
    return target
