"""`make wheels` builds each wheel once, and `trackerzoo[all]` installs from them into a fresh venv.

The wheels are built once per test session (``scripts/build_wheels.sh``, as `make wheels`
runs it). The core wheel carries the native extension ``trackerzoo._C``: when the
bootstrap's in-place build is current (``scripts/ext_stamp.py``), that very library is
packed instead of being compiled again, which keeps this test at well under a minute of
build on the 2-core CI machine. Only an explicit ``TRACKERZOO_NO_EXT=1`` (a set-up without
the extension) leaves it out; the extension checks are then skipped, the rest still runs.

The fresh venv borrows the heavy third-party packages (torch, numpy, OpenCV) from the
test's own environment through a path file, so nothing is downloaded and pip never
resolves another torch (``--no-index``); trackerzoo and its plugins come only from the
freshly built wheels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import time
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
WITH_EXTENSION = os.environ.get("TRACKERZOO_NO_EXT", "0") != "1"
LIBRARY = f"trackerzoo/_C{sysconfig.get_config_var('EXT_SUFFIX')}"
# Environment of every subprocess: no helper PYTHONPATH, so only the fresh venv's own
# packages (and the borrowed dependencies) are importable there.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TRACKERZOO_DISABLE_PLUGIN_AUTOLOAD")}

needs_extension = pytest.mark.skipif(not WITH_EXTENSION, reason="TRACKERZOO_NO_EXT=1: built without trackerzoo._C")


def _load_ext_stamp():
    spec = importlib.util.spec_from_file_location("ext_stamp", REPO / "scripts" / "ext_stamp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class BuiltWheels:
    dist: Path
    output: str  # what build_wheels.sh printed
    seconds: float
    reused: Path | None  # the in-place library that was current before the build, if any

    def wheel(self, distribution: str) -> Path:
        """The one wheel of ``distribution`` (its normalised name, e.g. ``trackerzoo_cract``)."""
        found = sorted(self.dist.glob(f"{distribution}-*.whl"))
        assert len(found) == 1, (distribution, found)
        return found[0]


@pytest.fixture(scope="session")
def built_wheels(tmp_path_factory) -> BuiltWheels:
    """The wheels of the core and every plugin, built once by scripts/build_wheels.sh."""
    dist = tmp_path_factory.mktemp("dist")
    reused = _load_ext_stamp().reusable_library(REPO) if WITH_EXTENSION else None
    start = time.perf_counter()
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_wheels.sh"), str(dist)],
        env=dict(CLEAN_ENV, PYTHON=sys.executable),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr
    return BuiltWheels(dist, result.stdout, seconds, reused)


@pytest.fixture(scope="session")
def fresh_python(built_wheels, tmp_path_factory) -> Path:
    """A fresh venv with ``trackerzoo[all]`` installed from the built wheels only, offline."""
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    fresh_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            env=CLEAN_ENV,
        ).stdout.strip()
    )
    # Dependencies (torch & co.) come from the test's own environment through links; every
    # trackerzoo distribution (and its editable hooks) is left out, so pip must install
    # those from the wheels.
    borrowed = root / "borrowed"
    borrowed.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("trackerzoo", "__editable__", "_trackerzoo")):
            (borrowed / entry.name).symlink_to(entry)
    (fresh_site / "borrowed_dependencies.pth").write_text(f"{borrowed}\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index"]
    result = subprocess.run(
        [*install, "--find-links", str(built_wheels.dist), "trackerzoo[all]"],
        cwd=root,
        env=dict(CLEAN_ENV, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return python


def _run_in(program: Path, *args: str) -> str:
    """Run a program of the fresh venv (its python or a console script) there; its stdout."""
    venv_root = program.parents[1]
    result = subprocess.run([str(program), *args], cwd=venv_root.parent, env=CLEAN_ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_each_distribution_has_one_wheel_and_the_plugins_are_pure(built_wheels):
    wheels = sorted(p.name for p in built_wheels.dist.glob("*.whl"))
    plugins = sorted(p.parent.name for p in REPO.glob("plugins/*/pyproject.toml"))
    assert len(wheels) == 1 + len(plugins), wheels
    for plugin in plugins:
        assert built_wheels.wheel(f"trackerzoo_{plugin}").name.endswith("-py3-none-any.whl")
    print(f"build_wheels.sh: {built_wheels.seconds:.1f} s\n{built_wheels.output}")


@pytest.mark.slow
@needs_extension
def test_the_core_wheel_carries_the_extension_and_reuses_a_current_build(built_wheels):
    core = built_wheels.wheel("trackerzoo")
    assert not core.name.endswith("-none-any.whl"), f"{core.name}: a wheel with a native library is platform-tagged"
    with zipfile.ZipFile(core) as archive:
        libraries = [name for name in archive.namelist() if name.startswith("trackerzoo/_C")]
        assert libraries == [LIBRARY], libraries
        packed = hashlib.sha256(archive.read(LIBRARY)).hexdigest()
    if built_wheels.reused is None:
        assert "compiling it" in built_wheels.output, built_wheels.output
    else:
        # The bootstrap's build was current: packed byte for byte, not compiled again.
        assert "packing it, no compile" in built_wheels.output, built_wheels.output
        assert packed == hashlib.sha256(built_wheels.reused.read_bytes()).hexdigest()


@pytest.mark.slow
@needs_extension
def test_the_installed_extension_loads_and_its_kernel_runs(fresh_python):
    script = textwrap.dedent(
        """
        import json, torch, trackerzoo
        import trackerzoo._C as native
        from trackerzoo import ops
        assert ops.extension_error() is None, ops.extension_error()
        generator = torch.Generator().manual_seed(0)
        search = torch.randn(2, 3, 9, 11, generator=generator)
        kernel = torch.randn(2, 3, 4, 5, generator=generator)
        native_out = ops.dw_xcorr(search, kernel, backend="cpu")
        torch.testing.assert_close(native_out, ops.dw_xcorr(search, kernel, backend="torch"))
        print(json.dumps({"package": trackerzoo.__file__, "library": native.__file__, "torch": torch.__file__,
                          "torch_version": torch.__version__, "shape": list(native_out.shape),
                          "backends": ops.available_backends()["dw_xcorr"]}))
        """
    )
    seen = json.loads(_run_in(fresh_python, "-c", script))
    prefix = str(fresh_python.parents[1])
    assert seen["package"].startswith(prefix) and seen["library"].startswith(prefix), seen
    assert seen["library"].endswith(LIBRARY), seen
    assert not seen["torch"].startswith(prefix) and seen["torch_version"] == torch.__version__, seen  # borrowed
    assert seen["shape"] == [2, 3, 6, 7] and "cpu" in seen["backends"], seen


@pytest.mark.slow
def test_all_installs_every_plugin_and_the_cli_lists_their_trackers(fresh_python):
    listing = _run_in(fresh_python.parent / "trackerzoo", "list")
    for name in ("cract", "csrt", "kcf", "mil", "rts", "ibfp", "rpvt", "arn"):
        assert name in listing.split(), listing
    rows = {row["name"]: row for row in json.loads(_run_in(fresh_python.parent / "trackerzoo", "list", "--json"))}
    assert rows["cract"]["distribution"] == "trackerzoo-cract", rows["cract"]
    assert rows["rts"]["distribution"] == "trackerzoo-rts", rows["rts"]
    assert rows["ibfp"]["distribution"] == "trackerzoo-ibfp", rows["ibfp"]
    assert rows["rpvt"]["distribution"] == "trackerzoo-rpvt", rows["rpvt"]
    assert rows["arn"]["distribution"] == "trackerzoo-arn", rows["arn"]
    assert {rows[name]["distribution"] for name in ("csrt", "kcf", "mil")} == {"trackerzoo-opencv"}, rows

    script = textwrap.dedent(
        """
        import numpy as np, trackerzoo
        from trackerzoo.weights.files import resolve_weights
        print(trackerzoo.__file__)
        print(resolve_weights("cract_mobilenetv2")[0])
        frame = np.zeros((60, 80, 3), np.uint8)
        frame[20:40, 20:40] = 255
        tracker = trackerzoo.create("kcf")
        tracker.initialize(frame, box=(20, 20, 20, 20))
        print(tracker.track(frame).box)
        rts = trackerzoo.create("rts", sample_height=64, sample_width=96)  # shipped weights, box and mask
        rts.initialize(frame, box=(20, 20, 20, 20))
        out = rts.track(frame)
        print(out.mask.shape, len(out.box))
        ibfp = trackerzoo.create("ibfp", inference="eager")
        ibfp.initialize(frame, box=(20, 20, 20, 20))
        print(ibfp.track(frame).box)
        rpvt = trackerzoo.create("rpvt", weights=None, device="cpu")
        rpvt.initialize(frame, box=(20, 20, 20, 20))
        out = rpvt.track(frame)
        print(out.mask.shape, out.rotated_box.shape)
        arn = trackerzoo.create("arn", weights=None, device="cpu", cyclic_steps=1)  # box + mask + rotated box
        arn.initialize(frame, box=(20, 20, 20, 20))
        result = arn.track(frame)
        print(len(result.box), result.mask.shape)
        """
    )
    package, weights, box, rts, ibfp_box, rpvt, arn = _run_in(fresh_python, "-c", script).splitlines()
    assert rpvt == "(60, 80) (4, 2)", rpvt
    assert arn == "4 (60, 80)", arn
    prefix = str(fresh_python.parents[1])
    assert package.startswith(prefix), package
    assert weights.startswith(os.path.join(prefix, "share", "trackerzoo", "weights")), weights  # wheel data-files
    assert box.startswith("("), box
    assert rts == "(60, 80) 4", rts
    assert ibfp_box.startswith("("), ibfp_box
