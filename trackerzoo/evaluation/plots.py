"""Success and precision plots comparing any number of result folders.

matplotlib is used with the Agg backend (selected here, before pyplot is imported)
so plots render on headless machines and in worker processes without a display.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from trackerzoo.evaluation.ope import PRECISION_AT, PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _legend_label(label: str, value: float) -> str:
    """Long labels (ablation rows name their parameters) wrapped so both panels keep their width."""
    return textwrap.fill(f"{label} [{value:.3f}]", width=42, subsequent_indent="  ")


def plot_success_precision(runs, path: str | Path, title: str = "") -> Path:
    """Two panels: success (legend: AUC) and precision (legend: precision at 20 px)."""
    plt = _pyplot()
    usable = [run for run in runs if run.success_curve is not None]
    if not usable:
        raise ValueError("no OPE curves to plot (VOT results are plotted with plot_eao)")
    # Long labels (ablation rows) would cover the curves: their legends go below the panels,
    # in a taller figure so that the panels keep their size.
    below = any(len(run.label) > 30 for run in usable)
    height = 4.5 + (0.5 * len(usable) + 0.5 if below else 0.0)
    figure, (success_axis, precision_axis) = plt.subplots(1, 2, figsize=(11, height))
    for run in sorted(usable, key=lambda r: -float(np.mean(r.success_curve))):
        auc = float(np.mean(run.success_curve))
        success_axis.plot(SUCCESS_THRESHOLDS, run.success_curve, linewidth=2, label=_legend_label(run.label, auc))
    for run in sorted(usable, key=lambda r: -float(r.precision_curve[PRECISION_AT])):
        value = float(run.precision_curve[PRECISION_AT])
        precision_axis.plot(PRECISION_THRESHOLDS, run.precision_curve, linewidth=2,
                            label=_legend_label(run.label, value))
    success_axis.set(xlabel="Overlap threshold", ylabel="Success rate", xlim=(0, 1), ylim=(0, 1),
                     title="Success plot (AUC)")
    precision_axis.set(xlabel="Location error threshold (px)", ylabel="Precision", xlim=(0, 50), ylim=(0, 1),
                       title="Precision plot (at 20 px)")
    for axis in (success_axis, precision_axis):
        axis.grid(alpha=0.3)
        if below:
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize="small")
        else:
            axis.legend(loc="lower left" if axis is success_axis else "lower right", fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, plt, path)


def plot_eao(runs, path: str | Path, title: str = "") -> Path:
    """Expected-overlap curves (VOT), legend: EAO."""
    plt = _pyplot()
    usable = [run for run in runs if run.eao_curve is not None]
    if not usable:
        raise ValueError("no expected-overlap curves to plot")
    figure, axis = plt.subplots(figsize=(6, 4.5))
    for run in usable:
        axis.plot(np.arange(len(run.eao_curve)), run.eao_curve, linewidth=2,
                  label=_legend_label(run.label, run.metrics.get("EAO", float("nan"))))
    axis.set(xlabel="Sequence length", ylabel="Expected overlap", ylim=(0, 1), title=title or "Expected overlap")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.tight_layout()
    return _save(figure, plt, path)


def _save(figure, plt, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110, bbox_inches="tight")  # keeps legends placed outside the axes
    plt.close(figure)
    return target
