"""The thread policy (trackerzoo.threads): pure choices, validation, create(threads=...), --threads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo import threads as policy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("cores", "load", "expected"), [
    (2, None, 2),  # load unknown: every core is free
    (2, 0.0, 2),
    (2, 0.4, 2),  # rounds to no busy core
    (2, 0.6, 1),
    (2, 1.0, 1),
    (2, 7.5, 1),  # overloaded: still one thread, never zero
    (16, 3.2, 13),
    (1, 0.0, 1),
])
def test_free_cores_subtracts_the_rounded_load(cores, load, expected):
    assert policy.free_cores(cores, load) == expected


@pytest.mark.parametrize(("cores", "load"), [(0, 0.0), (-1, 0.0), (True, 0.0), (2.0, 0.0),
                                             (2, -0.5), (2, float("nan")), (2, float("inf"))])
def test_free_cores_refuses_bad_input(cores, load):
    with pytest.raises(ValueError, match=r"cores|load"):
        policy.free_cores(cores, load)


def test_other_load_takes_this_process_off():
    assert policy.other_load(None) is None
    assert policy.other_load(0.3) == 0.0
    assert policy.other_load(3.5) == 2.5
    assert policy.other_load(3.5, own=0.0) == 3.5


def test_choose_threads_never_raises_the_current_count():
    assert policy.choose_threads(16, 0.0, current=4) == 4  # the user's smaller choice is kept
    assert policy.choose_threads(16, 14.0, current=4) == 2
    assert policy.choose_threads(2, 5.0, current=2) == 1
    with pytest.raises(ValueError, match="current thread count"):
        policy.choose_threads(2, 0.0, current=0)


@pytest.mark.parametrize("value", [None, "auto", 1, 3, np.int64(2), policy.MAX_THREADS])
def test_validate_threads_accepts(value):
    checked = policy.validate_threads(value)
    assert checked == value
    if value not in (None, "auto"):
        assert type(checked) is int


@pytest.mark.parametrize("value", [0, -1, policy.MAX_THREADS + 1, 10**9, True, False, 1.0, 2.5, "2", "AUTOMATIC",
                                   float("nan"), [1]])
def test_validate_threads_refuses_naming_the_value(value):
    with pytest.raises(ValueError, match="threads") as info:
        policy.validate_threads(value)
    assert repr(value) in str(info.value)


def test_passive_waiting_is_set_once_and_never_overrides_the_user():
    environ: dict[str, str] = {}
    assert policy.use_passive_waiting(environ, modules={}) is True
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}
    # torch already imported: the variable is set for child processes but cannot take effect here.
    environ = {}
    assert policy.use_passive_waiting(environ, modules={"torch": object()}) is False
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}
    environ = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert policy.use_passive_waiting(environ, modules={}) is False
    assert environ == {"OMP_WAIT_POLICY": "ACTIVE"}
    assert policy.use_passive_waiting({"OMP_WAIT_POLICY": "passive"}, modules={}) is True


def _child_environment(**extra: str) -> dict[str, str]:
    environ = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), environ.get("PYTHONPATH", "")])
    environ.update(extra)
    return environ


@pytest.mark.parametrize(("code", "extra", "expected"), [
    ("import trackerzoo, os", {}, "True PASSIVE"),
    # torch first: its OpenMP runtime has started, the variable reaches only child processes.
    ("import torch, trackerzoo, os", {}, "False PASSIVE"),
    # A user's own choice survives the import.
    ("import trackerzoo, os", {"OMP_WAIT_POLICY": "ACTIVE"}, "False ACTIVE"),
])
def test_importing_trackerzoo_sets_passive_waiting_before_torch(code, extra, expected):
    code += "; print(trackerzoo.PASSIVE_WAITING, os.environ.get('OMP_WAIT_POLICY'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=_child_environment(**extra), check=True)
    assert result.stdout.strip() == expected


def test_create_applies_and_validates_threads():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        trackerzoo.create("tests.core.track_fakes:SlowTracker", threads=1)
        assert torch.get_num_threads() == 1
        trackerzoo.create("tests.core.track_fakes:SlowTracker", threads="auto")
        assert torch.get_num_threads() == 1  # auto never raises the count
        trackerzoo.create("tests.core.track_fakes:SlowTracker", threads=None)
        assert torch.get_num_threads() == 1
        for bad in (0, -2, 1.5, "two", True):
            with pytest.raises(ValueError, match="threads"):
                trackerzoo.create("tests.core.track_fakes:SlowTracker", threads=bad)
    finally:
        torch.set_num_threads(before)


def test_threads_option_parses_auto_and_counts_in_every_tracker_command(capsys):
    from trackerzoo.cli.main import build_parser
    from trackerzoo.cli.options import tracker_kwargs

    parser = build_parser()
    assert parser.parse_args(["demo", "--threads", "2"]).threads == 2
    assert parser.parse_args(["demo", "--threads", "AUTO"]).threads == "auto"
    assert tracker_kwargs(parser.parse_args(["track", "v.mp4", "--threads", "1"]))["threads"] == 1
    assert parser.parse_args(["vot-server", "--tracker", "kcf"]).threads is None  # torch's count, load-independent
    assert parser.parse_args(["eval", "--tracker", "kcf", "--dataset", "otb:/d", "--out", "o"]).threads == 1
    for bad in ("0", "-1", "x", "1.5"):
        with pytest.raises(SystemExit):
            parser.parse_args(["demo", "--threads", bad])
        assert f"got {bad!r}" in capsys.readouterr().err
