"""Builds the optional native extension ``trackerzoo._C``.

C++ sources under ``csrc/`` are always compiled; CUDA sources (``*.cu``) only when the
installed torch was built with CUDA and a CUDA toolkit is found. Set
``TRACKERZOO_NO_EXT=1`` to skip the extension entirely: the package then runs on its
pure-PyTorch reference implementations.

A wheel build (``scripts/build_wheels.sh``) does not compile the extension again when
the in-place one, ``trackerzoo/_C<EXT_SUFFIX>``, is current: ``scripts/ext_stamp.py``
recorded it as the output of a build of today's ``csrc/``, ``setup.py``, torch and build
settings, and its bytes are unchanged since. That library is then copied into the wheel;
in every other case it is compiled (in ``build/``, where ninja keeps its objects).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys

from setuptools import setup


def _native_extensions() -> tuple[list, dict]:
    if os.environ.get("TRACKERZOO_NO_EXT", "0") == "1":
        return [], {}
    import torch
    from torch.utils import cpp_extension

    root = os.path.dirname(os.path.abspath(__file__))
    cpp_sources = sorted(glob.glob(os.path.join("csrc", "**", "*.cpp"), recursive=True))
    cuda_sources = sorted(glob.glob(os.path.join("csrc", "**", "*.cu"), recursive=True))
    if not cpp_sources:
        return [], {}
    with_cuda = torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None
    if os.environ.get("TRACKERZOO_FORCE_CPU_EXT", "0") == "1":
        with_cuda = False
    extra_compile_args = {"cxx": ["-O3", "-std=c++17"]}
    extra_link_args: list[str] = []
    if sys.platform.startswith("linux"):
        # Without OpenMP, at::parallel_for runs serially and every CPU kernel is
        # single-threaded; at run time libgomp resolves to the copy torch bundles.
        extra_compile_args["cxx"].append("-fopenmp")
        extra_link_args.append("-fopenmp")
    define_macros = []
    sources = list(cpp_sources)
    extension_type = cpp_extension.CppExtension
    if with_cuda:
        sources += cuda_sources
        extension_type = cpp_extension.CUDAExtension
        define_macros.append(("WITH_CUDA", None))
        extra_compile_args["nvcc"] = ["-O3", "-std=c++17", "--expt-relaxed-constexpr"]
    ext = extension_type(
        name="trackerzoo._C",
        sources=sources,
        include_dirs=[os.path.join(root, "csrc")],
        define_macros=define_macros,
        extra_compile_args=extra_compile_args,
        extra_link_args=extra_link_args,
    )
    build_ext = cpp_extension.BuildExtension.with_options(use_ninja=True)
    return [ext], {"build_ext": _reusing(build_ext, root)}


def _current_library(root: str) -> str | None:
    """The in-place ``trackerzoo/_C*`` when ``scripts/ext_stamp.py`` finds it current, else ``None``."""
    script = os.path.join(root, "scripts", "ext_stamp.py")
    if not os.path.isfile(script):  # e.g. an sdist without scripts/: always compile
        return None
    spec = importlib.util.spec_from_file_location("trackerzoo_ext_stamp", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    library = module.reusable_library(root)
    return None if library is None else str(library)


def _reusing(build_ext: type, root: str) -> type:
    """``build_ext`` that copies the current in-place library instead of compiling it."""

    class BuildOrReuseExtension(build_ext):
        def build_extensions(self) -> None:
            library = _current_library(root)
            if library is None or len(self.extensions) != 1:
                super().build_extensions()
                return
            target = self.get_ext_fullpath(self.extensions[0].name)
            print(f"trackerzoo._C: {os.path.relpath(library, root)} is current (scripts/ext_stamp.py): reused")
            if os.path.abspath(target) != os.path.abspath(library):
                self.mkpath(os.path.dirname(target))
                self.copy_file(library, target)

    return BuildOrReuseExtension


ext_modules, cmdclass = _native_extensions()
setup(ext_modules=ext_modules, cmdclass=cmdclass)
