"""Names read from data files never reach outside the folder they belong in (issue #20, item 1).

Every loader refuses an escaping name where it reads it (the error names the file and
the entry), and every result-path builder refuses it again, so ``trackerzoo eval``
cannot write outside ``--out`` whatever a dataset file says.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from trackerzoo.cli.main import main
from trackerzoo.datasets import load_dataset
from trackerzoo.formats import results_io
from trackerzoo.formats.paths import safe_name, safe_relative_path

ESCAPING = ["../../x", "..", ".", "", "/etc/passwd", "a/b", "a\\b", "C:x", "c:\\x", "a\0b", "\\\\server\\share"]


def _frames(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    encoded = cv2.imencode(".jpg", np.full((6, 8, 3), 40, np.uint8))[1].tobytes()
    for i in range(1, count + 1):
        (folder / f"{i:08d}.jpg").write_bytes(encoded)


@pytest.mark.parametrize("name", ESCAPING)
def test_safe_name_refuses_every_escaping_form(name: str) -> None:
    with pytest.raises(ValueError, match=r"list\.txt") as info:
        safe_name(name, source="list.txt")
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["ball", "bird1_2", "Jogging-1", "a.b", "...x", "x..", "GOT-10k_Val_000001"])
def test_safe_name_keeps_ordinary_names(name: str) -> None:
    assert safe_name(name, source="list.txt") == name


def test_safe_name_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="int"):
        safe_name(3, source="meta.json")


@pytest.mark.parametrize("path", ["color/%08d.jpg", "%08d.jpg", "a/b/c.txt"])
def test_safe_relative_path_keeps_sub_folders(path: str) -> None:
    assert safe_relative_path(path, source="sequence") == path


@pytest.mark.parametrize("path", ["../color/%08d.jpg", "color/../../x", "/abs/%08d.jpg", "C:/x", "a//b", "a\0b", ""])
def test_safe_relative_path_refuses_escapes(path: str) -> None:
    with pytest.raises(ValueError, match="sequence"):
        safe_relative_path(path, source="sequence")


@pytest.mark.parametrize("builder", [results_io.box_result_path, results_io.box_time_path,
                                     results_io.find_box_results])
@pytest.mark.parametrize("name", ["../x", "/tmp/x", "C:x", "a\0b", ".."])
def test_box_result_paths_refuse_escaping_names(builder, name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        builder(tmp_path, name)


@pytest.mark.parametrize("builder", [results_io.vot_result_path, results_io.vot_time_path])
@pytest.mark.parametrize("name", ["../x", "/tmp/x", "a/b"])
def test_vot_result_paths_refuse_escaping_names(builder, name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        builder(tmp_path, name, 0)


# --------------------------------------------------------------------------- every loader


@pytest.mark.parametrize("name", ["../../x", "/abs", "C:x", "a/b"])
def test_got10k_list_entry(tmp_path: Path, name: str) -> None:
    split = tmp_path / "val"
    _frames(split / "ok", 2)
    (split / "list.txt").write_text(f"ok\n{name}\n")
    with pytest.raises(ValueError, match=r"list\.txt") as info:
        load_dataset("got10k", tmp_path)
    assert repr(name) in str(info.value)


def test_lasot_split_file_entry(tmp_path: Path) -> None:
    (tmp_path / "testing_set.txt").write_text("cat-1\n../../etc-1\n")
    with pytest.raises(ValueError, match=r"'\.\./\.\./etc-1' in .*testing_set\.txt"):
        load_dataset("lasot", tmp_path, split="test")


@pytest.mark.parametrize("name", ["../outside", "/abs"])
def test_vot_list_entry(tmp_path: Path, name: str) -> None:
    (tmp_path / "list.txt").write_text(f"{name}\n")
    with pytest.raises(ValueError, match=r"list\.txt"):
        load_dataset("vot", tmp_path)


@pytest.mark.parametrize(("key", "value"), [("channels.color", "../../color/%08d.jpg"),
                                            ("channels.color", "/etc/%08d.jpg"),
                                            ("groundtruth", "../groundtruth.txt")])
def test_vot_sequence_file_paths(tmp_path: Path, key: str, value: str) -> None:
    folder = tmp_path / "ball"
    folder.mkdir()
    (folder / "groundtruth.txt").write_text("1,1,3,2\n")
    (folder / "sequence").write_text(f"{key}={value}\n")
    (tmp_path / "list.txt").write_text("ball\n")
    with pytest.raises(ValueError, match=r"sequence'.*cannot be used as a relative path"):
        load_dataset("vot", tmp_path)


@pytest.mark.parametrize("line", ["../../x", "/JPEGImages/480p/../00000.jpg /Annotations/480p/../00000.png"])
def test_davis_split_list_entry(tmp_path: Path, line: str) -> None:
    (tmp_path / "JPEGImages" / "480p").mkdir(parents=True)
    (tmp_path / "Annotations" / "480p").mkdir(parents=True)
    year_folder = "2017" if line.startswith("..") else "480p"
    (tmp_path / "ImageSets" / year_folder).mkdir(parents=True)
    (tmp_path / "ImageSets" / year_folder / "val.txt").write_text(line + "\n")
    year = 2017 if year_folder == "2017" else 2016
    with pytest.raises(ValueError, match=r"val\.txt"):
        load_dataset("davis", tmp_path, year=year)


def test_davis_split_option(tmp_path: Path) -> None:
    (tmp_path / "JPEGImages" / "480p").mkdir(parents=True)
    (tmp_path / "Annotations" / "480p").mkdir(parents=True)
    with pytest.raises(ValueError, match="split option"):
        load_dataset("davis", tmp_path, split="../../x")


@pytest.mark.parametrize("meta", [
    {"videos": {"../../x": {"objects": {"1": {"frames": ["00000"]}}}}},
    {"videos": {"/abs": {"objects": {"1": {"frames": ["00000"]}}}}},
    {"videos": {"abc": {"objects": {"1": {"frames": ["../../00000"]}}}}},
    {"videos": {"abc": {"objects": {"x": {"frames": ["00000"]}}}}},
])
def test_youtube_vos_meta_entries(tmp_path: Path, meta: dict) -> None:
    (tmp_path / "valid").mkdir()
    (tmp_path / "valid" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"meta\.json"):
        load_dataset("youtube_vos", tmp_path)


def test_plain_name_option(tmp_path: Path) -> None:
    _frames(tmp_path / "clip", 2)
    with pytest.raises(ValueError, match="name option"):
        load_dataset("plain", tmp_path / "clip", name="../../x")


def test_trackingnet_chunk_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunks option"):
        load_dataset("trackingnet", tmp_path, chunks=["../TEST"])


def test_uav123_split_option(tmp_path: Path) -> None:
    (tmp_path / "data_seq" / "UAV123").mkdir(parents=True)
    with pytest.raises(ValueError, match="split option"):
        load_dataset("uav123", tmp_path, split="../../anno")


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory) -> Path:
    """Two 6-frame procedural sequences, made as a user makes them."""
    root = tmp_path_factory.mktemp("tiny_synthetic") / "set"
    assert main(["make-dataset", "--out", str(root), "--procedural", "--sequences", "2", "--frames", "6",
                 "--seed", "3", "--size", "64x48"]) == 0
    return root


def _with_first_name(source: Path, target: Path, name: object) -> Path:
    import shutil

    shutil.copytree(source, target)
    metadata = json.loads((target / "synthetic.json").read_text())
    metadata["sequences"][0]["name"] = name
    (target / "synthetic.json").write_text(json.dumps(metadata))
    return target


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "C:x", "a/b", 7])
def test_synthetic_metadata_entry(tiny_synthetic: Path, tmp_path: Path, name: object) -> None:
    root = _with_first_name(tiny_synthetic, tmp_path / "set", name)
    with pytest.raises(ValueError, match=r"synthetic\.json"):
        load_dataset("synthetic", root)


def test_eval_never_writes_outside_out(tiny_synthetic: Path, tmp_path: Path, capsys) -> None:
    """The reported case: a ``synthetic.json`` entry named ``../../x`` made eval write outside --out."""
    root = _with_first_name(tiny_synthetic, tmp_path / "data" / "set", "../../x")
    out = tmp_path / "runs" / "a" / "out"
    before = {p for p in tmp_path.rglob("*")}
    code = main(["eval", "--tracker", "csrt", "--dataset", f"synthetic:{root}", "--out", str(out),
                 "--no-progress"])
    assert code == 2
    error = capsys.readouterr().err
    assert "synthetic.json" in error and "'../../x'" in error and len(error.strip().splitlines()) == 1
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(out in p.parents or p == out or p in out.parents for p in created), created
    assert not (tmp_path / "runs" / "x.txt").exists() and not (tmp_path / "x.txt").exists()
