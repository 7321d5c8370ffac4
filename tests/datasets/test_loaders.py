"""Each loader on a tiny tree written in the dataset's exact official layout."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from trackerzoo.datasets import Dataset, load_dataset
from trackerzoo.datasets.loaders.vot import read_tag
from trackerzoo.formats.regions import Mask, format_region

W, H = 8, 6


def write_frames(folder: Path, names: list[str], value: int = 40) -> None:
    """Tiny frames; one encoded image is reused so long folders stay cheap to write."""
    folder.mkdir(parents=True, exist_ok=True)
    encoded = {}
    for name in names:
        suffix = Path(name).suffix
        if suffix not in encoded:
            encoded[suffix] = cv2.imencode(suffix, np.full((H, W, 3), value, np.uint8))[1].tobytes()
        (folder / name).write_bytes(encoded[suffix])


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def write_palette_png(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [255, 255, 255] * 253)
    image.save(path)


# --------------------------------------------------------------------------- OTB


def test_otb_single_and_two_target_sequences_and_start_frame(tmp_path: Path) -> None:
    write_frames(tmp_path / "Basketball" / "img", [f"{i:04d}.jpg" for i in range(1, 4)])
    write_lines(tmp_path / "Basketball" / "groundtruth_rect.txt", ["1,2,3,4", "2\t3\t4\t5", "3 4 5 6"])
    write_frames(tmp_path / "Jogging" / "img", [f"{i:04d}.jpg" for i in range(1, 3)])
    write_lines(tmp_path / "Jogging" / "groundtruth_rect.1.txt", ["1,1,2,2", "1,1,2,2"])
    write_lines(tmp_path / "Jogging" / "groundtruth_rect.2.txt", ["5,5,2,2", "5,5,2,2"])
    # David is annotated from frame 300 on: 301 images, 2 box lines -> images 300 and 301.
    write_frames(tmp_path / "David" / "img", [f"{i:04d}.jpg" for i in range(1, 302)], value=0)
    write_lines(tmp_path / "David" / "groundtruth_rect.txt", ["1,1,3,3", "2,2,3,3"])

    dataset = load_dataset("otb", tmp_path)
    assert sorted(dataset.names) == ["Basketball", "David", "Jogging-1", "Jogging-2"]
    basketball = dataset["Basketball"]
    assert len(basketball) == 3
    np.testing.assert_array_equal(basketball.boxes, [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]])
    frame = basketball.frame(0)
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(dataset["Jogging-2"].boxes[0], [5, 5, 2, 2])
    david = dataset["David"]
    assert len(david) == 2
    assert david.frame_source.paths[0].name == "0300.jpg"


def test_otb_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    write_frames(tmp_path / "Car4" / "img", ["0001.jpg", "0002.jpg"])
    write_lines(tmp_path / "Car4" / "groundtruth_rect.txt", ["1,2,3,4", "1,2,x,4"])
    sequence = load_dataset("otb", tmp_path)["Car4"]
    with pytest.raises(ValueError, match=r"line 2 .*groundtruth_rect\.txt"):
        _ = sequence.boxes


# --------------------------------------------------------------------------- LaSOT


def make_lasot(root: Path) -> None:
    for name in ("airplane-1", "airplane-13"):
        folder = root / "airplane" / name
        write_frames(folder / "img", [f"{i:08d}.jpg" for i in range(1, 4)])
        write_lines(folder / "groundtruth.txt", ["1,1,4,4", "2,2,4,4", "0,0,0,0"])
        write_lines(folder / "full_occlusion.txt", ["0,0,1"])
        write_lines(folder / "out_of_view.txt", ["0,1,0" if name == "airplane-1" else "0,0,0"])
        write_lines(folder / "nlp.txt", ["white airplane in the sky"])
    write_lines(root / "testing_set.txt", ["airplane-13"])


def test_lasot_visibility_language_and_split(tmp_path: Path) -> None:
    make_lasot(tmp_path)
    dataset = load_dataset("lasot", tmp_path)
    assert dataset.names == ["airplane-1", "airplane-13"]
    sequence = dataset["airplane-1"]
    np.testing.assert_array_equal(sequence.visible, [True, False, False])
    assert sequence.attributes["language"] == "white airplane in the sky"
    assert sequence.attributes["class"] == "airplane"
    assert len(sequence) == 3
    assert load_dataset("lasot", tmp_path, split="test").names == ["airplane-13"]
    with pytest.raises(ValueError, match="'holdout'"):
        load_dataset("lasot", tmp_path, split="holdout")


def test_listing_does_not_read_annotations(tmp_path: Path) -> None:
    make_lasot(tmp_path)
    (tmp_path / "airplane" / "airplane-1" / "groundtruth.txt").write_text("garbage\n")
    dataset = load_dataset("lasot", tmp_path)  # listing succeeds: nothing parsed yet
    assert len(dataset) == 2
    with pytest.raises(ValueError, match="line 1"):
        _ = dataset["airplane-1"].boxes


# --------------------------------------------------------------------------- GOT-10k


def make_got10k(root: Path) -> None:
    val = root / "val"
    name = "GOT-10k_Val_000001"
    write_frames(val / name, [f"{i:08d}.jpg" for i in range(1, 5)])
    write_lines(val / name / "groundtruth.txt", ["1,1,3,3", "1.5,1,3,3", "2,1,3,3", "2,2,3,3"])
    write_lines(val / name / "absence.label", ["0", "0", "1", "0"])
    write_lines(val / name / "cover.label", ["8", "3", "0", "8"])
    write_lines(val / name / "cut_by_image.label", ["0", "0", "0", "1"])
    write_lines(val / name / "meta_info.ini", ["[METAINFO]", "url: x", f"resolution: ({W}, {H})"])
    write_lines(val / "list.txt", [name])
    test = root / "test"
    write_frames(test / "GOT-10k_Test_000001", [f"{i:08d}.jpg" for i in range(1, 4)])
    write_lines(test / "GOT-10k_Test_000001" / "groundtruth.txt", ["1,2,3,4"])
    write_lines(test / "list.txt", ["GOT-10k_Test_000001"])


def test_got10k_val_visibility_and_test_initial_box_only(tmp_path: Path) -> None:
    make_got10k(tmp_path)
    val = load_dataset("got10k", tmp_path, split="val")
    sequence = val["GOT-10k_Val_000001"]
    assert len(sequence) == 4
    np.testing.assert_array_equal(sequence.visible, [True, True, False, True])
    np.testing.assert_allclose(sequence.boxes[1], [1.5, 1, 3, 3])
    assert sequence.image_size == (W, H)
    test = load_dataset("got10k", tmp_path / "test")  # a split folder as root
    boxes = test[0].boxes
    np.testing.assert_array_equal(boxes[0], [1, 2, 3, 4])
    assert boxes.shape == (3, 4) and np.isnan(boxes[1:]).all()


def test_got10k_malformed_label_names_file(tmp_path: Path) -> None:
    make_got10k(tmp_path)
    write_lines(tmp_path / "val" / "GOT-10k_Val_000001" / "cover.label", ["8", "three", "0", "8"])
    sequence = load_dataset("got10k", tmp_path)[0]
    with pytest.raises(ValueError, match=r"line 2 .*cover\.label"):
        _ = sequence.visible


# --------------------------------------------------------------------------- TrackingNet


def test_trackingnet_numeric_frame_order_and_test_split(tmp_path: Path) -> None:
    chunk = tmp_path / "TEST"
    write_frames(chunk / "frames" / "vid_a", [f"{i}.jpg" for i in range(12)])
    write_lines(chunk / "anno" / "vid_a.txt", ["3,3,2,2"])
    train = tmp_path / "TRAIN_0"
    write_frames(train / "frames" / "vid_b", ["0.jpg", "1.jpg"])
    write_lines(train / "anno" / "vid_b.txt", ["1,1,2,2", "2,2,2,2"])
    test = load_dataset("trackingnet", tmp_path)
    sequence = test["vid_a"]
    assert [p.name for p in sequence.frame_source.paths[:3]] == ["0.jpg", "1.jpg", "2.jpg"]
    assert sequence.frame_source.paths[10].name == "10.jpg"
    assert np.isnan(sequence.boxes[1:]).all() and sequence.boxes.shape == (12, 4)
    assert load_dataset("trackingnet", tmp_path, split="train").names == ["vid_b"]


# --------------------------------------------------------------------------- UAV123


def test_uav123_sections_and_nan_boxes(tmp_path: Path) -> None:
    frames_root = tmp_path / "data_seq" / "UAV123"
    write_frames(frames_root / "boat1", [f"{i:06d}.jpg" for i in range(1, 4)])
    write_lines(tmp_path / "anno" / "UAV123" / "boat1.txt", ["1,1,2,2", "NaN,NaN,NaN,NaN", "2,2,2,2"])
    # person12_2 starts at frame 601 of folder person12.
    write_frames(frames_root / "person12", [f"{i:06d}.jpg" for i in range(1, 603)], value=0)
    write_lines(tmp_path / "anno" / "UAV123" / "person12_2.txt", ["1,1,2,2", "1,1,2,2"])
    dataset = load_dataset("uav123", tmp_path)
    boat = dataset["boat1"]
    np.testing.assert_array_equal(boat.visible, [True, False, True])
    assert np.isnan(boat.boxes[1]).all()
    section = dataset["person12_2"]
    assert [p.name for p in section.frame_source.paths] == ["000601.jpg", "000602.jpg"]


# --------------------------------------------------------------------------- NfS


def test_nfs_30fps_uses_every_eighth_240fps_annotation(tmp_path: Path) -> None:
    folder = tmp_path / "Gymnastics"
    write_frames(folder / "30" / "Gymnastics", [f"{i:05d}.jpg" for i in range(1, 4)])
    lines = [f'1 {f} 10 {f + 4} 16 {f} {1 if f == 9 else 0} 0 0 "person"' for f in range(1, 24)]
    write_lines(folder / "240" / "Gymnastics.txt", lines)
    sequence = load_dataset("nfs", tmp_path, fps=30)["Gymnastics"]
    np.testing.assert_array_equal(sequence.boxes, [[1, 10, 4, 6], [9, 10, 4, 6], [17, 10, 4, 6]])
    np.testing.assert_array_equal(sequence.visible, [True, False, True])


# --------------------------------------------------------------------------- VOT


def make_vot(root: Path) -> None:
    folder = root / "ball"
    write_frames(folder / "color", [f"{i:08d}.jpg" for i in range(1, 5)])
    mask = np.zeros((3, 4), bool)
    mask[1:, 1:3] = True
    write_lines(folder / "groundtruth.txt", [
        "1,1,3,2",
        "1,1,5,1,5,4,1,4",
        format_region(Mask(mask, (2, 1))),
        "m0,0,1,1,1",  # absent target: empty mask
    ])
    write_lines(folder / "sequence", ["channels.color=color/%08d.jpg", "fps=30", "format=default"])
    write_lines(folder / "anchor.value", ["1", "0", "1", "-1"])
    write_lines(folder / "occlusion.tag", ["0", "1"])
    write_lines(root / "list.txt", ["ball"])


def test_vot_regions_boxes_masks_anchors(tmp_path: Path) -> None:
    make_vot(tmp_path)
    sequence = load_dataset("vot", tmp_path)["ball"]
    assert len(sequence) == 4
    np.testing.assert_array_equal(sequence.boxes[:3], [[1, 1, 3, 2], [1, 1, 4, 3], [3, 2, 2, 2]])
    assert np.isnan(sequence.boxes[3]).all()
    np.testing.assert_array_equal(sequence.visible, [True, True, True, False])
    assert sequence.anchors == [0, 2, 3]
    assert sequence.attributes["backward_anchors"] == [3]
    expected = np.zeros((H, W), bool)
    expected[2:4, 3:5] = True
    np.testing.assert_array_equal(sequence.mask(2), expected)
    rectangle = np.zeros((H, W), bool)
    rectangle[1:3, 1:4] = True
    np.testing.assert_array_equal(sequence.mask(0), rectangle)
    assert sequence.attributes["tags"] == ["occlusion"]
    np.testing.assert_array_equal(read_tag(tmp_path / "ball", "occlusion", 4), [False, True, False, False])


def test_vot_malformed_region_names_file_and_line(tmp_path: Path) -> None:
    make_vot(tmp_path)
    write_lines(tmp_path / "ball" / "groundtruth.txt", ["1,1,3,2", "1,1,3", "1,1,3,2", "1,1,3,2"])
    sequence = load_dataset("vot", tmp_path)["ball"]
    with pytest.raises(ValueError, match=r"groundtruth\.txt.* at line 2"):
        _ = sequence.boxes


# --------------------------------------------------------------------------- DAVIS


def make_davis(root: Path) -> None:
    labels = np.zeros((3, H, W), np.uint8)
    labels[:, 1:3, 1:3] = 1
    labels[:, 3:5, 4:7] = 2
    labels[1, 0, 0] = 255  # void pixel
    labels[2, 3:5, 4:7] = 0  # object 2 leaves in the last frame
    for i in range(3):
        write_palette_png(root / "Annotations" / "480p" / "dogs" / f"{i:05d}.png", labels[i])
    write_frames(root / "JPEGImages" / "480p" / "dogs", [f"{i:05d}.jpg" for i in range(3)])
    write_lines(root / "ImageSets" / "2017" / "val.txt", ["dogs"])


def test_davis2017_one_sequence_per_object_with_void(tmp_path: Path) -> None:
    make_davis(tmp_path)
    dataset = load_dataset("davis", tmp_path, year=2017, split="val")
    assert dataset.names == ["dogs_1", "dogs_2"]
    second = dataset["dogs_2"]
    assert second.has_masks
    assert second.mask(0).sum() == 6 and second.mask(0).dtype == bool
    np.testing.assert_array_equal(second.boxes[0], [4, 3, 3, 2])
    np.testing.assert_array_equal(second.visible, [True, True, False])
    assert second.ignore_mask(1)[0, 0] and second.ignore_mask(1).sum() == 1


def test_davis2016_grey_annotations_and_480p_list(tmp_path: Path) -> None:
    folder = tmp_path / "Annotations" / "480p" / "bear"
    folder.mkdir(parents=True)
    grey = np.zeros((H, W), np.uint8)
    grey[2:4, 2:6] = 255
    for i in range(2):
        cv2.imwrite(str(folder / f"{i:05d}.png"), grey)
    write_frames(tmp_path / "JPEGImages" / "480p" / "bear", ["00000.jpg", "00001.jpg"])
    write_lines(tmp_path / "ImageSets" / "480p" / "val.txt",
                ["/JPEGImages/480p/bear/00000.jpg /Annotations/480p/bear/00000.png",
                 "/JPEGImages/480p/bear/00001.jpg /Annotations/480p/bear/00001.png"])
    dataset = load_dataset("davis", tmp_path, year=2016)
    assert dataset.names == ["bear"]
    np.testing.assert_array_equal(dataset["bear"].boxes[1], [2, 2, 4, 2])


# --------------------------------------------------------------------------- YouTube-VOS


def test_youtube_vos_objects_start_at_first_appearance(tmp_path: Path) -> None:
    split = tmp_path / "valid"
    write_frames(split / "JPEGImages" / "abc", ["00000.jpg", "00005.jpg", "00010.jpg"])
    first = np.zeros((H, W), np.uint8)
    first[1:3, 1:3] = 1
    write_palette_png(split / "Annotations" / "abc" / "00000.png", first)
    later = np.zeros((H, W), np.uint8)
    later[2:5, 3:6] = 2
    write_palette_png(split / "Annotations" / "abc" / "00005.png", later)
    meta = {"videos": {"abc": {"objects": {"1": {"category": "cat", "frames": ["00000", "00005", "00010"]},
                                           "2": {"category": "dog", "frames": ["00005", "00010"]}}}}}
    (split / "meta.json").write_text(json.dumps(meta))
    dataset = load_dataset("youtube_vos", tmp_path)
    assert dataset.names == ["abc_1", "abc_2"]
    dog = dataset["abc_2"]
    assert len(dog) == 2
    np.testing.assert_array_equal(dog.boxes[0], [3, 2, 3, 3])
    assert dog.mask(1) is None and np.isnan(dog.boxes[1]).all()
    assert dataset["abc_1"].attributes["category"] == "cat"


def test_youtube_vos_bad_meta_is_a_value_error(tmp_path: Path) -> None:
    (tmp_path / "valid").mkdir()
    (tmp_path / "valid" / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"meta\.json"):
        load_dataset("youtube_vos", tmp_path)


# --------------------------------------------------------------------------- plain


def test_plain_image_folder_rgb_and_box_file(tmp_path: Path) -> None:
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(3):
        bgr = np.zeros((H, W, 3), np.uint8)
        bgr[..., 2] = 200  # red in OpenCV's BGR order
        cv2.imwrite(str(folder / f"{i}.png"), bgr)
    write_lines(folder / "groundtruth.txt", ["1,1,2,2"])
    dataset = load_dataset("plain", folder)
    sequence = dataset["clip"]
    assert isinstance(dataset, Dataset) and len(sequence) == 3
    frame = sequence.frame(2)
    assert frame[0, 0].tolist() == [200, 0, 0]  # RGB
    np.testing.assert_array_equal(sequence.boxes[0], [1, 1, 2, 2])
    assert np.isnan(sequence.boxes[1:]).all()


def test_plain_video_file_frames_in_order(tmp_path: Path) -> None:
    path = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(5):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    write_lines(tmp_path / "walk.txt", ["1 2 3 4"] * 5)
    sequence = load_dataset("video", path)[0]
    assert len(sequence) == 5
    means = [int(sequence.frame(i).mean()) for i in (0, 3, 1, 4)]
    assert all(abs(m - 40 * i) <= 3 for m, i in zip(means, (0, 3, 1, 4), strict=True))
    np.testing.assert_array_equal(sequence.boxes[4], [1, 2, 3, 4])


def test_unknown_kind_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'imagenet-vid'"):
        load_dataset("imagenet-vid", tmp_path)
    with pytest.raises(FileNotFoundError):
        load_dataset("otb", tmp_path / "missing")


def test_listing_and_reading_boxes_decode_no_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_lasot(tmp_path / "lasot")
    make_got10k(tmp_path / "got")

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(cv2, "imread", no_decoding)
    for kind, root in (("lasot", tmp_path / "lasot"), ("got10k", tmp_path / "got")):
        for sequence in load_dataset(kind, root):
            assert sequence.boxes.shape == (len(sequence), 4)
            _ = sequence.visible
