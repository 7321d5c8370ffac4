"""The native-extension stamp: a second bootstrap skips the compile only when nothing it reads changed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("ext_stamp", REPO / "scripts" / "ext_stamp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ext_stamp = _load()


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "csrc" / "ops" / "op").mkdir(parents=True)
    (tmp_path / "csrc" / "ops" / "op" / "op.cpp").write_text("int f() { return 1; }\n")
    (tmp_path / "csrc" / "trackerzoo.cpp").write_text("// init\n")
    (tmp_path / "setup.py").write_text("setup()\n")
    (tmp_path / "trackerzoo").mkdir()
    return tmp_path


def test_stamp_is_stable_and_follows_every_input(tree, monkeypatch):
    monkeypatch.delenv("TORCH_CUDA_ARCH_LIST", raising=False)
    base = ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    assert base == ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    assert base != ext_stamp.compute_stamp(tree, "torch=2.14.0 cuda=None")  # another torch
    (tree / "csrc" / "ops" / "op" / "op.cpp").write_text("int f() { return 2; }\n")
    edited = ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    assert edited != base  # a kernel edited
    (tree / "csrc" / "ops" / "op" / "op.h").write_text("#pragma once\n")
    added = ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    assert added != edited  # a header added
    (tree / "setup.py").write_text("setup(name='x')\n")
    assert ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None") != added  # setup.py edited
    before_env = ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "9.0")
    assert ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None") != before_env  # build settings


def test_current_only_with_the_recorded_stamp_and_a_built_library(tree):
    stamp = ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    library = ext_stamp.library_path(tree)
    assert not ext_stamp.is_current(tree, stamp)  # nothing recorded, nothing built
    with pytest.raises(FileNotFoundError, match="no compiled extension"):
        ext_stamp.record(tree, stamp)  # nothing built: nothing to stamp
    library.write_bytes(b"\x7fELF built")
    ext_stamp.record(tree, stamp)
    assert ext_stamp.is_current(tree, stamp)
    assert not ext_stamp.is_current(tree, ext_stamp.compute_stamp(tree, "torch=2.14.0 cuda=None"))
    library.unlink()
    assert not ext_stamp.is_current(tree, stamp)  # recorded, but `make clean` removed the library
    library.write_bytes(b"\x7fELF copied from another checkout")
    assert not ext_stamp.is_current(tree, stamp)  # a library the recorded build did not produce
    library.write_bytes(b"\x7fELF built")
    assert ext_stamp.is_current(tree, stamp)


def test_a_stamp_without_the_library_digest_is_not_current(tree):
    """The one-line stamps of earlier checkouts named no library: one rebuild, then current."""
    stamp = ext_stamp.compute_stamp(tree, "torch=2.13.0 cuda=None")
    ext_stamp.library_path(tree).write_bytes(b"\x7fELF")
    (tree / ".venv").mkdir()
    (tree / ".venv" / "trackerzoo-ext.stamp").write_text(stamp + "\n")
    assert not ext_stamp.is_current(tree, stamp)


def test_reusable_library_is_the_current_in_place_build_or_none(tree):
    assert ext_stamp.reusable_library(tree) is None
    library = ext_stamp.library_path(tree)
    library.write_bytes(b"\x7fELF")
    ext_stamp.record(tree, ext_stamp.compute_stamp(tree, ext_stamp.torch_versions()))
    assert ext_stamp.reusable_library(tree) == library.resolve()
    (tree / "csrc" / "trackerzoo.cpp").write_text("// init, edited after the build\n")
    assert ext_stamp.reusable_library(tree) is None


def test_command_line_write_then_check(tree):
    script = str(REPO / "scripts" / "ext_stamp.py")
    assert subprocess.run([sys.executable, script, "write", str(tree)], capture_output=True).returncode == 1
    ext_stamp.library_path(tree).write_bytes(b"\x7fELF")
    assert subprocess.run([sys.executable, script, "check", str(tree)]).returncode == 1
    assert subprocess.run([sys.executable, script, "write", str(tree)]).returncode == 0
    assert subprocess.run([sys.executable, script, "check", str(tree)]).returncode == 0
    (tree / "csrc" / "trackerzoo.cpp").write_text("// init, edited\n")
    assert subprocess.run([sys.executable, script, "check", str(tree)]).returncode == 1
    assert subprocess.run([sys.executable, script, "bogus"], capture_output=True).returncode == 2


def test_bootstrap_skips_the_build_through_the_stamp():
    text = (REPO / "scripts" / "bootstrap.sh").read_text()
    assert "scripts/ext_stamp.py check" in text and "scripts/ext_stamp.py write" in text
    assert "skipping its build" in text
