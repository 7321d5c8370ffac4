"""Import layers of ``trackerzoo``: every import points down (docs/architecture.md, "Layers").

The checker parses every module under ``trackerzoo/`` with ``ast`` and collects what it
imports: top-level and function-level ``import``/``from ... import`` statements
(relative ones resolved) and ``importlib.import_module("...")`` / ``__import__("...")``
calls with a literal name. Each ``trackerzoo`` module is mapped to a layer by its
longest matching prefix in ``LAYERS``; ``FORBIDDEN`` says which layers a layer must not
import. The synthetic-tree tests show the checker catches the upward import that
``trackerzoo.datasets`` had before the formats moved down (datasets -> evaluation).
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "trackerzoo"

# Module prefix -> layer (longest prefix wins). Mirrors the table in docs/architecture.md.
LAYERS: dict[str, str] = {
    "trackerzoo.ops": "ops",
    "trackerzoo._C": "ops",  # the compiled extension that registers torch.ops.trackerzoo
    "trackerzoo.formats": "formats",
    "trackerzoo.errors": "base",
    "trackerzoo.prediction": "base",
    "trackerzoo.validation": "base",
    "trackerzoo.params": "base",
    "trackerzoo.device": "base",
    "trackerzoo.threads": "base",  # thread policy; imported first by trackerzoo/__init__, before torch
    "trackerzoo.geometry": "base",
    "trackerzoo.geometry.anchor_free": "base",  # FCOS-style score-map read-out (ARN, IBFP)
    "trackerzoo.frames": "base",  # frame sources (video, images, glob, camera), shared by datasets and front
    "trackerzoo.nn": "blocks",
    "trackerzoo.nn.inference": "blocks",  # prepare_for_inference: folded BatchNorm, frozen graphs
    "trackerzoo.patches": "blocks",
    "trackerzoo.labels": "blocks",
    "trackerzoo.learners": "blocks",
    "trackerzoo.weights": "blocks",
    "trackerzoo.calibration": "blocks",  # presence calibration (Platt map per weight file, issue #22)
    "trackerzoo.registry": "registry",
    "trackerzoo.hookspecs": "registry",
    "trackerzoo.api": "core",
    "trackerzoo.tracker": "core",
    "trackerzoo.batch": "core",  # BatchTracker, the loop fallback
    "trackerzoo.longterm": "core",  # long-term mode: Redetector interface, LongTermTracker state machine
    "trackerzoo": "front",  # the package itself: create, list_trackers, Tracker, Prediction
    "trackerzoo.session": "front",  # the one tracking loop
    "trackerzoo.datasets": "datasets",
    "trackerzoo.evaluation": "evaluation",
    "trackerzoo.training": "training",
    "trackerzoo.cli": "apps",
    "trackerzoo.io": "apps",
    "trackerzoo.visualize": "apps",
    "trackerzoo.demo_data": "apps",
}
# Entries that name one module, not a prefix: the package ``trackerzoo`` itself must not
# give a layer to every module below it, or a new module would never need a row.
EXACT_ONLY = frozenset({"trackerzoo"})
PLUGIN_PREFIX = "trackerzoo_"  # plugin distributions: trackerzoo_cract, trackerzoo_opencv, ...
ALL_LAYERS = frozenset(LAYERS.values()) | {"plugins"}

# Layer -> the layers it must not import (its own layer is always allowed).
FORBIDDEN: dict[str, frozenset[str]] = {
    # Ops are leaves: kernels import torch, the standard library and their extension only.
    "ops": ALL_LAYERS - {"ops"},
    # Formats sit below both datasets and evaluation: file formats know no other layer.
    "formats": ALL_LAYERS - {"formats"},
    # Base types and geometry serve everything above and need nothing but ops and formats.
    "base": ALL_LAYERS - {"ops", "formats", "base"},
    # The plugin machinery (hook specifications and the tables plugins fill) is where
    # every layer registers what it owns (trackers, dataset loaders, checkpoint filters,
    # recipes), so it sits low and imports only base types; core's own built-in plugins
    # are loaded by name, like entry points.
    "registry": ALL_LAYERS - {"ops", "formats", "base", "registry"},
    # Building blocks of trackers (backbones, crops, online learners, weight files) know no
    # tracker, no data sets and no harness; weights look checkpoint filters up in the registry.
    "blocks": ALL_LAYERS - {"ops", "formats", "base", "registry", "blocks"},
    # Core never imports plugins (they arrive through entry points) nor anything above it.
    "core": frozenset({"front", "datasets", "evaluation", "training", "apps", "plugins"}),
    # The public surface and the loop sit on core; data sets and harnesses sit on them.
    "front": frozenset({"datasets", "evaluation", "training", "apps", "plugins"}),
    # Datasets know no tracker: no core, no public API, no tracker building blocks, no harness
    # (they register their loaders through the registry's hooks).
    "datasets": frozenset({"blocks", "core", "front", "evaluation", "training", "apps", "plugins"}),
    # Evaluation never trains, and uses trackers only through create() and the loop
    # ("front"): no tracker internals (registry, core, blocks) and no plugin.
    "evaluation": frozenset({"registry", "blocks", "core", "training", "apps", "plugins"}),
    # Training builds on everything but the applications; recipes come from plugins
    # through the registry, never by import.
    "training": frozenset({"apps", "plugins"}),
    # The CLI and its helpers find trackers through the registry too.
    "apps": frozenset({"plugins"}),
}

# Third-party packages ops may import besides the standard library (ops are leaves).
OPS_THIRD_PARTY = frozenset({"torch"})



def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path`` inside the package folder ``root``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool, known: frozenset[str]) -> set[str]:
    """Absolute names of the modules that ``source`` (module ``module``) imports anywhere.

    ``from a import b`` counts as importing ``a.b`` when that is a known module, else ``a``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            if name in ("import_module", "__import__"):
                found.add(node.args[0].value)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> imported modules, for every ``.py`` file under the package folder ``root``."""
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    known = frozenset(files) | {f"{root.name}._C"}
    return {module: imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", known)
            for module, path in files.items()}


def layer_of(module: str) -> str | None:
    """The layer of an imported or importing module; ``None`` for third-party and stdlib modules."""
    if module.startswith(PLUGIN_PREFIX):
        return "plugins"
    best = None
    for prefix in LAYERS:
        covers = module == prefix or (prefix not in EXACT_ONLY and module.startswith(prefix + "."))
        if covers and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else LAYERS[best]


def violations(graph: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    """Every forbidden edge of ``graph`` as ``(importer, imported, rule)``."""
    found = []
    for importer, targets in sorted(graph.items()):
        source_layer = layer_of(importer)
        for target in sorted(targets):
            target_layer = layer_of(target)
            if source_layer is None or target_layer is None or target_layer == source_layer:
                continue
            if target_layer in FORBIDDEN[source_layer]:
                found.append((importer, target, f"{source_layer} must not import {target_layer}"))
    return found


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "trackerzoo"


# ----------------------------------------------------------------------------- the real tree


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE_DIR)


def test_rules_name_only_known_layers():
    assert set(FORBIDDEN) == ALL_LAYERS - {"plugins"}
    for layer, forbidden in FORBIDDEN.items():
        assert forbidden <= ALL_LAYERS and layer not in forbidden, layer
        assert "plugins" in forbidden, f"{layer} may import plugins: core never imports plugins"


def test_every_module_has_a_layer(graph):
    unplaced = sorted(module for module in graph if layer_of(module) is None)
    assert not unplaced, f"add these modules to LAYERS and docs/architecture.md: {unplaced}"


def test_imports_point_down(graph):
    broken = violations(graph)
    assert not broken, "upward imports (docs/architecture.md, Layers):\n" + "\n".join(
        f"  {importer} -> {target}: {rule}" for importer, target, rule in broken)


def test_ops_import_only_torch_and_the_standard_library(graph):
    for module, targets in graph.items():
        if layer_of(module) != "ops":
            continue
        for target in targets:
            top = target.split(".")[0]
            if layer_of(target) == "ops" or top in sys.stdlib_module_names or top == "__future__":
                continue
            assert top in OPS_THIRD_PARTY, f"{module} imports {target}: ops are leaves (torch and stdlib only)"


def test_evaluation_builds_trackers_only_through_create(graph):
    runner = graph["trackerzoo.evaluation.runner"]
    assert "trackerzoo" in runner and "trackerzoo.session" in runner
    assert not {target for target in runner if layer_of(target) == "core"}


# ----------------------------------------------------------------------------- the checker itself


def test_checker_reports_the_old_upward_import(tmp_path):
    """The layout before the formats moved: a dataset loader imported evaluation's regions."""
    root = _write_tree(tmp_path, {
        "trackerzoo/__init__.py": "from trackerzoo.api import create\n",
        "trackerzoo/api.py": "",
        "trackerzoo/datasets/__init__.py": "",
        "trackerzoo/datasets/loaders/__init__.py": "",
        "trackerzoo/datasets/loaders/vot.py": """
            from trackerzoo.evaluation.regions import rasterize
            from trackerzoo.evaluation.results_io import read_region_file
            """,
        "trackerzoo/datasets/loaders/davis.py": "from trackerzoo.evaluation.davis import VOID_LABEL\n",
        "trackerzoo/evaluation/__init__.py": "",
        "trackerzoo/evaluation/regions.py": "import numpy as np\n",
        "trackerzoo/evaluation/results_io.py": "from trackerzoo.evaluation.regions import parse_region\n",
        "trackerzoo/evaluation/davis.py": "VOID_LABEL = 255\n",
    })
    found = violations(import_graph(root))
    assert ("trackerzoo.datasets.loaders.vot", "trackerzoo.evaluation.regions",
            "datasets must not import evaluation") in found
    assert ("trackerzoo.datasets.loaders.davis", "trackerzoo.evaluation.davis",
            "datasets must not import evaluation") in found
    assert len(found) == 3  # evaluation importing its own regions is not reported


def test_checker_sees_hidden_and_relative_imports(tmp_path):
    root = _write_tree(tmp_path, {
        "trackerzoo/__init__.py": "",
        "trackerzoo/tracker.py": "",
        "trackerzoo/training/__init__.py": "",
        "trackerzoo/ops/__init__.py": "from . import kernels\n",
        "trackerzoo/ops/kernels.py": """
            import torch
            from trackerzoo import _C

            def lazy():
                from ..geometry import boxes
            """,
        "trackerzoo/geometry/__init__.py": "",
        "trackerzoo/geometry/boxes.py": "",
        "trackerzoo/registry.py": """
            import importlib

            def load():
                importlib.import_module("trackerzoo_cract.hooks")
            """,
        "trackerzoo/evaluation/__init__.py": "",
        "trackerzoo/evaluation/runner.py": """
            from trackerzoo import create
            from trackerzoo.tracker import Tracker

            def fit():
                __import__("trackerzoo.training")
            """,
    })
    graph = import_graph(root)
    assert graph["trackerzoo.ops"] == {"trackerzoo.ops.kernels"}
    assert graph["trackerzoo.ops.kernels"] == {"torch", "trackerzoo._C", "trackerzoo.geometry.boxes"}
    found = {(importer, target) for importer, target, _ in violations(graph)}
    assert found == {
        ("trackerzoo.ops.kernels", "trackerzoo.geometry.boxes"),  # ops are leaves (function-level, relative)
        ("trackerzoo.registry", "trackerzoo_cract.hooks"),  # core never imports plugins (import_module)
        ("trackerzoo.evaluation.runner", "trackerzoo.tracker"),  # trackers only through create()
        ("trackerzoo.evaluation.runner", "trackerzoo.training"),  # evaluation never trains (__import__)
    }


def test_a_module_missing_from_the_table_has_no_layer():
    assert layer_of("trackerzoo") == "front"
    assert layer_of("trackerzoo.brand_new_module") is None
    assert layer_of("trackerzoo.learners.brand_new_learner") == "blocks"
