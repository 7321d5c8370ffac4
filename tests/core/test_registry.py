"""Plugin discovery rules: provenance, duplicates, broken plugins, autoload switch."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

import trackerzoo
from trackerzoo import registry as registry_module
from trackerzoo.errors import DuplicateTrackerError, TrackerNotFoundError


class _EchoTracker(trackerzoo.Tracker):
    def _initialize(self, frame, box, mask):
        self._box = box

    def _track(self, frame):
        return trackerzoo.Prediction(box=self._box, score=1.0)


def _plugin(name: str) -> types.ModuleType:
    module = types.ModuleType(f"plugin_{name}")

    @trackerzoo.hookimpl
    def trackerzoo_register_trackers(registry):
        registry.add(name, _EchoTracker, paper="none")

    module.trackerzoo_register_trackers = trackerzoo_register_trackers
    return module


def test_explicit_plugin_records_its_distribution():
    registry = registry_module.load_registry([(_plugin("echo"), "dist-a")], autoload=False)
    info = registry.get("echo")
    assert info.distribution == "dist-a"
    assert info.variants == ("default",)


def test_duplicate_names_name_both_distributions():
    with pytest.raises(DuplicateTrackerError, match=r"'echo'.*dist-a.*dist-b"):
        registry_module.load_registry([(_plugin("echo"), "dist-a"), (_plugin("echo"), "dist-b")], autoload=False)


def test_autoload_switch_disables_entry_points(monkeypatch):
    monkeypatch.setenv(registry_module.AUTOLOAD_ENV, "1")
    registry = registry_module.load_registry()
    assert registry.trackers == {}
    with pytest.raises(TrackerNotFoundError, match=r"\(none installed\)"):
        registry.get("csrt")


def test_entry_points_load_when_autoload_is_on(monkeypatch):
    monkeypatch.delenv(registry_module.AUTOLOAD_ENV, raising=False)
    registry = registry_module.load_registry()
    assert {"csrt", "kcf", "mil"} <= set(registry.trackers)


def test_broken_plugin_warns_and_others_still_load(monkeypatch, tmp_path):
    # A fake distribution on sys.path whose entry point raises at import time.
    dist_info = tmp_path / "broken_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[trackerzoo]\nbroken = broken_plugin_module\n")
    (tmp_path / "broken_plugin_module.py").write_text(textwrap.dedent("raise ImportError('missing native library')\n"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(registry_module.AUTOLOAD_ENV, raising=False)
    with pytest.warns(RuntimeWarning, match=r"'broken'.*broken-plugin.*missing native library"):
        registry = registry_module.load_registry()
    assert "csrt" in registry.trackers
    sys.modules.pop("broken_plugin_module", None)


def test_bad_registration_arguments_are_rejected():
    registry = registry_module.Registry()
    scope = registry.scope("dist")
    with pytest.raises(ValueError, match="outputs"):
        scope.add("x", _EchoTracker, paper="p", outputs={"mask"})
    with pytest.raises(ValueError, match="default variant"):
        scope.add("x", _EchoTracker, paper="p", variants=("a",), default_variant="b")
