"""The CLI's default tracker comes from the plugins' ranks; core names no tracker."""

from __future__ import annotations

import contextlib
import types

import numpy as np
import pytest

import trackerzoo
from trackerzoo import registry as registry_module
from trackerzoo.cli.defaults import create_default_or, ranked_tracker_names
from trackerzoo.errors import TrackerNotFoundError, WeightsNotFoundError


class _Still(trackerzoo.Tracker):
    def _initialize(self, frame, box, mask):
        self._box = box

    def _track(self, frame):
        return trackerzoo.Prediction(box=self._box, score=1.0)


class _NoWeights(_Still):
    def __init__(self, params, *, variant, weights, device):
        raise WeightsNotFoundError("weights/none.safetensors is missing")


def _plugin(entries: dict[str, tuple[type, int]]) -> types.ModuleType:
    module = types.ModuleType("plugin_ranked")

    @trackerzoo.hookimpl
    def trackerzoo_register_trackers(registry):
        for name, (factory, rank) in entries.items():
            registry.add(name, factory, paper="none", rank=rank)

    module.trackerzoo_register_trackers = trackerzoo_register_trackers
    return module


@pytest.fixture
def use_registry():
    with contextlib.ExitStack() as stack:

        def install(entries):
            registry = registry_module.load_registry([(_plugin(entries), "dist-ranked")], autoload=False)
            return stack.enter_context(registry_module.use_registry(registry))

        yield install


def test_installed_plugins_rank_cract_first_then_the_opencv_baselines():
    names = ranked_tracker_names()
    assert names.index("cract") < names.index("csrt") < names.index("kcf") < names.index("mil")


def test_highest_rank_wins_and_ties_go_by_name(use_registry):
    use_registry({"b": (_Still, 5), "a": (_Still, 5), "low": (_Still, -1), "top": (_Still, 9)})
    assert ranked_tracker_names() == ["top", "a", "b", "low"]
    name, tracker = create_default_or(None, device="cpu")
    assert name == "top" and isinstance(tracker, _Still)


def test_a_tracker_without_weights_is_skipped_with_a_note(use_registry, capsys):
    use_registry({"heavy": (_NoWeights, 10), "light": (_Still, 1)})
    name, _tracker = create_default_or(None, device="cpu")
    assert name == "light"
    assert "skipping heavy: weights/none.safetensors is missing" in capsys.readouterr().out


def test_forced_name_is_built_even_when_ranked_low(use_registry):
    use_registry({"top": (_Still, 9), "low": (_Still, 0)})
    assert create_default_or("low", device="cpu")[0] == "low"


def test_no_buildable_tracker_lists_what_is_installed(use_registry):
    use_registry({"heavy": (_NoWeights, 10)})
    with pytest.raises(TrackerNotFoundError, match="heavy"):
        create_default_or(None, device="cpu")


@pytest.mark.parametrize("rank", [1.5, "3", True, None])
def test_rank_must_be_an_integer(rank):
    with pytest.raises(ValueError, match=r"rank of tracker 'x' must be an integer"):
        registry_module.load_registry([(_plugin({"x": (_Still, rank)}), "dist-ranked")], autoload=False)


def test_track_without_tracker_uses_the_ranked_default(use_registry, tmp_path, capsys):
    import cv2

    from trackerzoo.cli.main import main

    use_registry({"top": (_Still, 9), "low": (_Still, 0)})
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index:03d}.png"), np.full((40, 60, 3), 30 * index, np.uint8))
    assert main(["track", str(folder), "--init", "5,5,10,10", "--out", str(tmp_path / "out"), "--no-video"]) == 0
    assert "top: 3 frames" in capsys.readouterr().out


def test_use_registry_swaps_the_process_registry_and_restores_it():
    before = registry_module.default_registry()
    registry = registry_module.load_registry([(_plugin({"only": (_Still, 0)}), "dist-ranked")], autoload=False)
    with registry_module.use_registry(registry):
        assert [info.name for info in trackerzoo.list_trackers()] == ["only"]
        assert isinstance(trackerzoo.create("only", device="cpu"), _Still)
    assert registry_module.default_registry() is before
    assert "only" not in {info.name for info in trackerzoo.list_trackers()}
