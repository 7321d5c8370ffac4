"""Plugin discovery rules: provenance, duplicates, broken plugins, misspelled hooks, autoload switch."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import types

import pytest

import trackerzoo
from trackerzoo import registry as registry_module
from trackerzoo.cli.main import main as cli_main
from trackerzoo.datasets import Dataset, dataset_kinds, load_dataset
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


def _fake_distribution(folder, name: str, entry_point: str, module: str, source: str) -> None:
    """A distribution on sys.path: a .dist-info folder with an entry point, and the module it names."""
    dist_info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[trackerzoo]\n{entry_point} = {module}\n")
    (folder / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def broken_distribution(monkeypatch, tmp_path):
    """A fake distribution on sys.path whose entry point raises at import time."""
    _fake_distribution(tmp_path, "broken-plugin", "broken", "broken_plugin_module",
                       "raise ImportError('missing native library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(registry_module.AUTOLOAD_ENV, raising=False)
    yield
    sys.modules.pop("broken_plugin_module", None)


def test_broken_plugin_warns_and_others_still_load(broken_distribution):
    with pytest.warns(RuntimeWarning, match=r"'broken'.*broken-plugin.*missing native library"):
        registry = registry_module.load_registry()
    assert "csrt" in registry.trackers
    assert registry.failed_plugins == [
        registry_module.FailedPlugin("broken", "broken-plugin", "ImportError: missing native library")
    ]


def test_failed_plugins_is_empty_when_every_plugin_imports(monkeypatch):
    monkeypatch.delenv(registry_module.AUTOLOAD_ENV, raising=False)
    assert registry_module.load_registry().failed_plugins == []


def test_list_verbose_shows_the_failed_plugin(broken_distribution, monkeypatch, capsys):
    with pytest.warns(RuntimeWarning):
        registry = registry_module.load_registry()
    monkeypatch.setattr(registry_module, "_default_registry", registry)
    assert cli_main(["list", "--verbose"]) == 0
    out = capsys.readouterr().out
    failed_section = out[out.index("failed plugins:") :]
    assert "broken  (distribution broken-plugin): ImportError: missing native library" in failed_section
    assert "csrt" in out and "none" not in failed_section
    # The plain listing points at --verbose instead (on stderr), and JSON carries the failures.
    assert cli_main(["list"]) == 0
    assert "failed to import ('broken'); see `trackerzoo list --verbose`" in capsys.readouterr().err
    assert cli_main(["list", "--json", "--verbose"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["failed_plugins"] == [
        {"name": "broken", "distribution": "broken-plugin", "error": "ImportError: missing native library"}
    ]
    assert "csrt" in {row["name"] for row in listing["trackers"]}


def test_list_verbose_without_failures_says_none(monkeypatch, capsys):
    registry = registry_module.load_registry([(_plugin("echo"), "dist-a")], autoload=False)
    monkeypatch.setattr(registry_module, "_default_registry", registry)
    assert cli_main(["list", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "OUTPUTS", "DEFAULT", "VARIANTS", "DISTRIBUTION", "PAPER"]
    assert out.splitlines()[1].split() == ["echo", "box", "default", "default", "dist-a", "none"]
    assert out.rstrip().endswith("failed plugins:\n  none")
    assert re.search(r"^  plain +trackerzoo$", out, re.M)  # a dataset kind of core's built-in plugin


def _misspelled_plugin(decorated: bool) -> types.ModuleType:
    module = types.ModuleType("plugin_with_typo")

    def trackerzoo_register_tracker(registry):  # the real hook is trackerzoo_register_trackers
        registry.add("typo", _EchoTracker, paper="none")

    module.trackerzoo_register_tracker = trackerzoo.hookimpl(trackerzoo_register_tracker) if decorated else (
        trackerzoo_register_tracker
    )
    return module


@pytest.mark.parametrize("decorated", [True, False], ids=["hookimpl", "undecorated"])
def test_misspelled_hook_is_an_error_naming_it(decorated):
    with pytest.raises(registry_module.PluginHookError) as caught:
        registry_module.load_registry([(_misspelled_plugin(decorated), "typo-dist")], autoload=False)
    message = str(caught.value)
    assert "unknown hook 'trackerzoo_register_tracker'" in message
    assert "did you mean 'trackerzoo_register_trackers'?" in message
    assert "typo-dist" in message
    assert isinstance(caught.value, ValueError)


def test_misspelled_hook_in_an_installed_distribution_fails_loudly(monkeypatch, tmp_path):
    source = """
    import trackerzoo

    @trackerzoo.hookimpl
    def trackerzoo_register_tracker(registry):
        pass
    """
    _fake_distribution(tmp_path, "typo-plugin", "typo", "typo_plugin_module", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(registry_module.AUTOLOAD_ENV, raising=False)
    try:
        with pytest.raises(ValueError, match=r"typo-plugin.*unknown hook 'trackerzoo_register_tracker'"):
            registry_module.load_registry()
    finally:
        sys.modules.pop("typo_plugin_module", None)


def test_hook_with_wrong_argument_names_is_an_error():
    module = types.ModuleType("plugin_bad_args")

    @trackerzoo.hookimpl
    def trackerzoo_register_trackers(reg):
        pass

    module.trackerzoo_register_trackers = trackerzoo_register_trackers
    with pytest.raises(registry_module.PluginHookError, match=r"bad-args-dist.*\{'reg'\} are declared in the hookimpl"):
        registry_module.load_registry([(module, "bad-args-dist")], autoload=False)


def test_dataset_loader_registered_through_the_hook(monkeypatch, tmp_path):
    calls = []

    def load_toy(root, *, split="all"):
        calls.append((root, split))
        return Dataset("toy", [])

    module = types.ModuleType("plugin_toy_dataset")

    @trackerzoo.hookimpl
    def trackerzoo_register_dataset_loaders(registry):
        registry.add_loader("ToyKind", load_toy, description="a toy layout")

    module.trackerzoo_register_dataset_loaders = trackerzoo_register_dataset_loaders
    registry = registry_module.load_registry([(module, "toy-dist")], autoload=False)
    assert registry.loaders["toykind"].distribution == "toy-dist"
    assert registry.loaders["otb"].distribution == registry_module.CORE_DISTRIBUTION
    monkeypatch.setattr(registry_module, "_default_registry", registry)
    assert dataset_kinds()["toykind"] == "a toy layout"
    assert load_dataset("toykind", tmp_path, split="val").name == "toy"
    assert calls == [(tmp_path, "val")]
    with pytest.raises(ValueError, match=r"unknown dataset kind 'nosuch'; known kinds: .*toykind"):
        load_dataset("nosuch", tmp_path)


def test_a_taken_dataset_kind_names_both_owners():
    module = types.ModuleType("plugin_second_otb")

    @trackerzoo.hookimpl
    def trackerzoo_register_dataset_loaders(registry):
        registry.add_loader("otb", lambda root: Dataset("x", []))

    module.trackerzoo_register_dataset_loaders = trackerzoo_register_dataset_loaders
    with pytest.raises(ValueError, match=r"'otb'.*'trackerzoo'.*'otb-dist'"):
        registry_module.load_registry([(module, "otb-dist")], autoload=False)


def test_bad_registration_arguments_are_rejected():
    registry = registry_module.Registry()
    scope = registry.scope("dist")
    with pytest.raises(ValueError, match="outputs"):
        scope.add("x", _EchoTracker, paper="p", outputs={"mask"})
    with pytest.raises(ValueError, match="default variant"):
        scope.add("x", _EchoTracker, paper="p", variants=("a",), default_variant="b")
    with pytest.raises(ValueError, match="callable"):
        scope.add_loader("kind", "not a function")
    with pytest.raises(ValueError, match="non-empty"):
        scope.add_checkpoint_filter("", lambda state_dict, model: state_dict)
