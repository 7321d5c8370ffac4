"""The command line: list, track (video, folder, glob, mask init) and error reporting."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from trackerzoo.cli.main import main


@pytest.fixture
def image_folder(tmp_path, rng):
    folder = tmp_path / "frames"
    folder.mkdir()
    background = rng.integers(0, 100, size=(90, 120, 3), dtype=np.uint8)
    patch = rng.integers(150, 256, size=(20, 20, 3), dtype=np.uint8)
    for t in range(12):
        frame = background.copy()
        frame[30:50, 10 + 4 * t : 30 + 4 * t] = patch
        cv2.imwrite(str(folder / f"img{t + 1}.png"), frame)  # natural sort: img2 before img10
    return folder


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert {"csrt", "kcf", "mil"} <= names


def test_list_table_keeps_its_columns_aligned(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The distribution column starts at the same offset on every line, however long the variants.
    starts = {line.index("trackerzoo-") for line in lines if "trackerzoo-" in line}
    assert len(lines) >= 3 and len(starts) == 1
    # A header names the columns, aligned with them; each tracker's default variant has its column.
    assert lines[0].split() == ["NAME", "OUTPUTS", "DEFAULT", "VARIANTS", "DISTRIBUTION", "PAPER"]
    assert lines[0].index("DISTRIBUTION") == starts.pop()
    cract = next((line for line in lines if line.startswith("cract ")), None)
    if cract is not None:
        assert cract.split()[2] == "mobilenetv2"


def test_track_image_folder_writes_boxes_and_video(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["track", str(image_folder), "--tracker", "csrt", "--init", "10,30,20,20", "--out", str(out)]) == 0
    lines = (out / "boxes.txt").read_text().splitlines()
    assert len(lines) == 12
    x_last = float(lines[-1].split(",")[0])
    assert abs(x_last - (10 + 4 * 11)) < 6
    assert (out / "annotated.mp4").stat().st_size > 0
    assert (out / "contact_sheet.png").exists()
    assert "FPS" in capsys.readouterr().out


def test_track_glob_with_mask_init(image_folder, tmp_path):
    mask = np.zeros((90, 120), np.uint8)
    mask[30:50, 10:30] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    out = tmp_path / "out"
    args = ["track", str(image_folder / "img*.png"), "--tracker", "kcf", "--init-mask", str(tmp_path / "mask.png")]
    assert main([*args, "--out", str(out), "--no-video"]) == 0
    first = [float(v) for v in (out / "boxes.txt").read_text().splitlines()[0].split(",")]
    assert first == [10.0, 30.0, 20.0, 20.0]
    assert not (out / "annotated.mp4").exists()


def test_track_video_file(tmp_path, rng):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
    for t in range(8):
        frame = np.full((64, 96, 3), 40, np.uint8)
        frame[20:40, 5 + 5 * t : 25 + 5 * t] = 220
        writer.write(frame)
    writer.release()
    out = tmp_path / "out"
    assert main(["track", str(video), "--tracker", "mil", "--init", "5,20,20,20", "--out", str(out)]) == 0
    assert len((out / "boxes.txt").read_text().splitlines()) == 8


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["track", "does/not/exist", "--init", "1,2,3,4"], "neither a video file"),
        (["track", "{folder}", "--init", "1,2,3"], "x,y,w,h"),
        (["track", "{folder}", "--init", "1,2,0,4"], "h=4|w=0"),
        (["track", "{folder}", "--init", "1,2,3,4", "--tracker", "nope"], "available trackers"),
        (["track", "{folder}", "--init", "1,2,3,4", "--set", "bogus=1"], "valid parameters"),
    ],
)
def test_cli_errors_are_one_clear_line(image_folder, capsys, args, needle):
    args = [a.replace("{folder}", str(image_folder)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert __import__("re").search(needle, err), err


@pytest.mark.parametrize(("person", "first_frame"), [(None, 22), ("leather-jacket", 0)])
def test_demo_runs_on_the_bundled_clip(tmp_path, capsys, person, first_frame):
    out = tmp_path / "demo"
    assert main(["demo", "--tracker", "kcf", "--out", str(out)] + (["--person", person] if person else [])) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "FPS" in printed and "annotated keyframes" in printed
    assert len((out / "boxes.txt").read_text().splitlines()) == 200 - first_frame
    # A progress bar counts the frames, and the initialisation time is reported apart from FPS.
    assert f"{200 - first_frame}/{200 - first_frame}" in captured.err
    assert __import__("re").search(r"kcf: \d+ frames, init \d+\.\d ms, \d+\.\d FPS", printed), printed
    assert (out / "contact_sheet.png").exists()


def test_demo_rejects_an_unknown_person(tmp_path, capsys):
    assert main(["demo", "--tracker", "kcf", "--person", "nobody", "--out", str(tmp_path / "demo")]) == 2
    assert "no annotated person 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("false", False),
        ("True", True),
        ("off", False),
        ("none", None),
        ("0.5", 0.5),
        ("3", 3),
        ("(1, 2)", (1, 2)),
        ("abc", "abc"),
    ],
)
def test_override_values_parse_booleans_and_literals(text, expected):
    from trackerzoo.cli.options import parse_overrides

    assert parse_overrides([f"key={text}"]) == {"key": expected}


def test_version_prints_the_installed_distribution_version(capsys):
    import importlib.metadata

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"trackerzoo {importlib.metadata.version('trackerzoo')}"


def test_no_command_prints_help_listing_the_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: trackerzoo")
    for command in ("track", "eval", "eval-results", "train", "demo", "list", "convert", "make-dataset"):
        assert command in out, command


# --------------------------------------------------------------------------- one spelling per idea

FIVE_COMMANDS = ("track", "eval", "eval-results", "train", "demo")


def _subparsers() -> dict:
    import argparse

    from trackerzoo.cli.main import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _parse(argv: list[str]):
    from trackerzoo.cli.main import build_parser

    return build_parser().parse_args(argv)


def test_every_option_of_the_five_commands_has_help_text():
    subparsers = _subparsers()
    for command in FIVE_COMMANDS:
        for action in subparsers[command]._actions:
            assert action.help, f"{command} {action.option_strings or action.dest} has no help text"


def test_variant_and_weights_help_lists_the_variants_with_shipped_weights(tmp_path, monkeypatch):
    # The text comes from the manifest: a manifest with one more entry shows it.
    entry = {"name": "foo_big", "file": "foo_big.safetensors", "sha256": "0" * 64, "parameter_count": 1,
             "tracker": "foo", "variant": "big"}
    (tmp_path / "manifest.json").write_text(json.dumps([entry]))
    monkeypatch.setenv("TRACKERZOO_WEIGHTS_DIR", str(tmp_path))
    subparsers = _subparsers()
    for command in ("track", "eval", "demo"):
        helps = {a.dest: a.help for a in subparsers[command]._actions}
        for dest in ("variant", "weights"):
            assert "variants with shipped weights: big (foo)" in helps[dest], (command, dest)
    monkeypatch.delenv("TRACKERZOO_WEIGHTS_DIR")
    from trackerzoo.weights import read_manifest

    shipped = sorted(f"{e.variant} ({e.tracker})" for e in read_manifest() if e.tracker and e.variant)
    helps = {a.dest: a.help for a in _subparsers()["track"]._actions}
    assert all(item in helps["variant"] for item in shipped)


@pytest.mark.parametrize(("argv", "dest"), [
    (["track", "clip.mp4", "--init", "1,2,3,4"], "set"),
    (["eval", "--tracker", "kcf", "--dataset", "otb:/d", "--out", "o"], "set"),
    (["demo"], "set"),
    (["train", "recipe"], "settings"),
])
def test_tracker_parameters_are_set_key_value_in_every_command(argv, dest):
    args = _parse([*argv, "--set", "a=1", "--set", "b=false"])
    assert getattr(args, dest) == ["a=1", "b=false"]


def test_old_param_spelling_still_works_with_a_deprecation_line(capsys):
    args = _parse(["eval", "--tracker", "kcf", "--dataset", "otb:/d", "--out", "o", "--set", "a=1", "--param", "b=2"])
    assert args.set == ["a=1", "b=2"]
    err = capsys.readouterr().err
    assert "trackerzoo eval: warning: --param is deprecated, use --set KEY=VALUE" in err


def test_dataset_is_kind_colon_root_with_the_same_loader_options_in_eval_and_eval_results(capsys):
    from trackerzoo.cli.options import DatasetArg, dataset_from_args

    expected = DatasetArg("got10k", __import__("pathlib").Path("/data/got"), {"split": "val", "year": 2016})
    common = ["--dataset", "GOT10k:/data/got", "--dataset-option", "split=val", "--dataset-option", "year=2016"]
    evaluated = _parse(["eval", "--tracker", "kcf", "--out", "o", *common])
    scored = _parse(["eval-results", "--results", "r", *common])
    assert dataset_from_args(evaluated) == dataset_from_args(scored) == expected
    assert capsys.readouterr().err == ""
    # The old eval-results spelling: --dataset KIND --root ROOT --option KEY=VALUE.
    old = _parse(["eval-results", "--results", "r", "--dataset", "got10k", "--root", "/data/got",
                  "--option", "split=val", "--option", "year=2016"])
    assert dataset_from_args(old) == expected
    err = capsys.readouterr().err
    assert "--root is deprecated, use --dataset KIND:ROOT" in err
    assert "--option is deprecated, use --dataset-option KEY=VALUE" in err
    both = _parse(["eval-results", "--results", "r", "--dataset", "otb:/a", "--root", "/b"])
    with pytest.raises(ValueError, match="/b"):
        dataset_from_args(both)
    with pytest.raises(ValueError, match="'otb'"):
        dataset_from_args(_parse(["eval-results", "--results", "r", "--dataset", "otb"]))


@pytest.mark.parametrize("command", [["eval", "--tracker", "kcf", "--dataset", "otb:/d", "--out", "o"],
                                     ["eval-results", "--dataset", "otb:/d", "--results", "r"]])
def test_sequences_take_comma_separated_names_in_every_command(command, capsys):
    assert _parse([*command, "--sequences", "Car4,Basketball", "--sequences", "Deer"]).sequences == [
        "Car4", "Basketball", "Deer"]
    assert capsys.readouterr().err == ""
    assert _parse(command).sequences is None
    # The old eval form, names separated by spaces, still parses and says how to write it now.
    assert _parse([*command, "--sequences", "Car4", "Deer"]).sequences == ["Car4", "Deer"]
    assert "use --sequences Car4,Deer" in capsys.readouterr().err


def test_demo_takes_the_shared_tracker_options():
    args = _parse(["demo", "--tracker", "kcf", "--variant", "v", "--weights", "none", "--device", "cpu"])
    from trackerzoo.cli.options import tracker_kwargs

    assert tracker_kwargs(args) == {"variant": "v", "weights": None, "device": "cpu", "threads": None}
