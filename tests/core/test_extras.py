"""The core's extras name only plugin distributions that exist in plugins/ (issue #21 item 3).

An extra naming a distribution that has no plugin yet makes ``pip install "trackerzoo[...]"``
fail to resolve; ``all`` must pull in exactly the plugins there are.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before 3.11
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
CORE = "trackerzoo"


def _pyproject(path: Path) -> dict:
    with path.open("rb") as stream:
        return tomllib.load(stream)


def _plugin_distributions() -> dict[str, Path]:
    """Canonical distribution name -> folder, for every plugins/*/pyproject.toml."""
    found = {}
    for pyproject in sorted(REPO.glob("plugins/*/pyproject.toml")):
        found[canonicalize_name(_pyproject(pyproject)["project"]["name"])] = pyproject.parent
    return found


def _extras() -> dict[str, set[str]]:
    """Extra name -> canonical names of the distributions it requires."""
    declared = _pyproject(REPO / "pyproject.toml")["project"]["optional-dependencies"]
    return {extra: {canonicalize_name(Requirement(spec).name) for spec in specs} for extra, specs in declared.items()}


def test_the_plugins_folder_holds_distributions():
    plugins = _plugin_distributions()
    expected = {"trackerzoo-cract", "trackerzoo-opencv", "trackerzoo-rts", "trackerzoo-arn", "trackerzoo-rpvt",
                "trackerzoo-ibfp"}
    assert expected <= set(plugins), plugins


def test_every_trackerzoo_distribution_an_extra_names_is_a_plugin_here():
    plugins = set(_plugin_distributions())
    for extra, names in _extras().items():
        ours = {name for name in names if name.startswith(f"{CORE}-")}
        missing = ours - plugins
        assert not missing, f"extra [{extra}] names {sorted(missing)}, which have no folder in plugins/"


def test_all_is_exactly_the_plugins():
    assert _extras()["all"] == set(_plugin_distributions())


def test_each_plugin_has_its_own_extra():
    extras = _extras()
    for name, folder in _plugin_distributions().items():
        short = name.removeprefix(f"{CORE}-")
        assert extras.get(short) == {name}, f"plugins/{folder.name} ({name}) needs the extra [{short}] = [{name!r}]"
