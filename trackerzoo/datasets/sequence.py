"""``Sequence`` and ``Dataset``: the one shape every loader, metric and runner agrees on.

A benchmark tree holds thousands of sequences (LaSOT, GOT-10k, TrackingNet), so a
``Sequence`` is cheap to create: frames, boxes and masks are read on first use.
Loaders pass either values or zero-argument callables for the annotation fields; a
callable is run once, when the field is first read, and its result is cached.

Frames are always returned as RGB ``uint8`` ``(H, W, 3)``, whatever the source (image
files, a video file, arrays in memory), because every tracker in the zoo is written
against that one convention.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from collections.abc import Sequence as SequenceABC
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import cv2
import numpy as np

from trackerzoo.frames import VIDEO_SUFFIXES, count_video_frames, read_image_rgb

T = TypeVar("T")
Lazy = T | Callable[[], T]
PathLike = str | os.PathLike


@runtime_checkable
class FrameSource(Protocol):
    """Anything that can say how many frames it has and decode one of them."""

    def __len__(self) -> int: ...

    def read(self, index: int) -> np.ndarray: ...


class ImageFileFrames:
    """Frames stored as one image file per frame, in the given order."""

    def __init__(self, paths: Lazy[SequenceABC[PathLike]]) -> None:
        self._paths = paths

    @property
    def paths(self) -> list[Path]:
        if callable(self._paths):
            self._paths = self._paths()
        return [Path(p) for p in self._paths]

    def __len__(self) -> int:
        if callable(self._paths):
            self._paths = self._paths()
        return len(self._paths)

    def read(self, index: int) -> np.ndarray:
        if callable(self._paths):
            self._paths = self._paths()
        return read_image_rgb(self._paths[index])


class VideoFileFrames:
    """Frames decoded from one video file.

    Sequential access (the tracking case) decodes each frame once; a jump seeks. The
    capture is opened lazily and re-opened after pickling, so a ``Sequence`` backed by
    a video can be sent to worker processes.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"video file {os.fspath(path)!r} does not exist")
        self._capture: cv2.VideoCapture | None = None
        self._next_index = 0
        self._length: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_length": self._length}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._length = state["_length"]
        self._capture = None
        self._next_index = 0

    def _open(self) -> cv2.VideoCapture:
        if self._capture is None:
            capture = cv2.VideoCapture(os.fspath(self.path))
            if not capture.isOpened():
                raise ValueError(f"cannot decode video file {os.fspath(self.path)!r}")
            self._capture = capture
            self._next_index = 0
        return self._capture

    def __len__(self) -> int:
        """Frames that decode (see ``count_video_frames``); ``ValueError`` when none does."""
        if self._length is None:
            count = count_video_frames(self._open(), self.path)
            self._next_index = 0
            if count == 0:
                raise ValueError(f"video file {os.fspath(self.path)!r} holds no frame that can be decoded")
            self._length = count
        return self._length

    def read(self, index: int) -> np.ndarray:
        capture = self._open()
        if index != self._next_index:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if not ok or frame is None:
            raise IndexError(f"frame {index} is beyond the end of video {os.fspath(self.path)!r}")
        self._next_index = index + 1
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ArrayFrames:
    """Frames already in memory (generated sequences, tests)."""

    def __init__(self, frames: SequenceABC[np.ndarray] | np.ndarray) -> None:
        self._frames = frames

    def __len__(self) -> int:
        return len(self._frames)

    def read(self, index: int) -> np.ndarray:
        frame = np.asarray(self._frames[index])
        if frame.ndim == 2:
            frame = np.repeat(frame[:, :, None], 3, axis=2)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"in-memory frame {index} has shape {frame.shape} dtype {frame.dtype}, "
                             "expected (H, W, 3) uint8 RGB")
        return frame


def as_frame_source(frames: FrameSource | PathLike | SequenceABC[Any] | np.ndarray) -> FrameSource:
    """Accept the forms loaders naturally have at hand and wrap them as a ``FrameSource``."""
    if isinstance(frames, FrameSource) and not isinstance(frames, (list, tuple, np.ndarray)):
        return frames
    if isinstance(frames, (str, os.PathLike)):
        path = Path(frames)
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return VideoFileFrames(path)
        raise ValueError(f"frames {os.fspath(frames)!r} is neither a video file nor a list of image files")
    if isinstance(frames, np.ndarray):
        return ArrayFrames(frames)
    if callable(frames):
        return ImageFileFrames(frames)
    items = list(frames)
    if items and isinstance(items[0], np.ndarray):
        return ArrayFrames(items)
    return ImageFileFrames(items)


def _as_boxes(boxes: Any, name: str) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"boxes of sequence {name!r} have shape {array.shape}, expected (T, 4)")
    return array


class Sequence:
    """One annotated video: frames, ``x, y, w, h`` boxes, optional masks and flags.

    ``boxes`` are float64 ``[T, 4]`` with NaN rows where the box is unknown (test
    splits, absent targets in some datasets). ``visible`` is a bool ``[T]`` when the
    dataset says whether the target is in view, else None. ``anchors`` (VOT) are the
    0-based frame indices where an independent run starts; the ones run backwards are
    also listed in ``attributes["backward_anchors"]`` (the VOT ``anchor.value`` file
    marks them with a negative value), so ``anchors`` stays a plain ``list[int]``.
    ``trackerzoo.evaluation.vot.anchor_runs`` turns both into (start, reverse) runs.
    """

    def __init__(
        self,
        name: str,
        frames: FrameSource | PathLike | SequenceABC[Any] | np.ndarray | Callable[[], SequenceABC[PathLike]],
        boxes: Lazy[Any],
        *,
        masks: Callable[[int], np.ndarray | None] | SequenceABC[np.ndarray] | None = None,
        visible: Lazy[Any] | None = None,
        anchors: Lazy[list[int]] | None = None,
        attributes: dict[str, Any] | None = None,
        regions: Lazy[list[Any]] | None = None,
        ignore_masks: Callable[[int], np.ndarray | None] | None = None,
    ) -> None:
        self.name = str(name)
        self._frames = as_frame_source(frames)
        self._boxes = boxes
        self._masks = masks
        self._visible = visible
        self._anchors = anchors
        self._regions = regions
        self._ignore_masks = ignore_masks
        self.attributes: dict[str, Any] = dict(attributes or {})

    def __repr__(self) -> str:
        return f"Sequence({self.name!r})"

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def frame_source(self) -> FrameSource:
        return self._frames

    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 ``(H, W, 3)`` image of frame ``index``."""
        return self._frames.read(self._check_index(index))

    def frames(self) -> Iterator[np.ndarray]:
        for index in range(len(self)):
            yield self.frame(index)

    def _check_index(self, index: int) -> int:
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"frame {index} out of range for sequence {self.name!r} of {length} frames")
        return index % length

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames: from ``attributes["image_size"]`` when the
        loader knows it, else from the first image's header (or first decoded frame)."""
        size = self.attributes.get("image_size")
        if size is None:
            source = self._frames
            if isinstance(source, ImageFileFrames) and len(source) > 0:
                from PIL import Image

                with Image.open(source.paths[0]) as image:
                    size = (int(image.width), int(image.height))
            else:
                height, width = self.frame(0).shape[:2]
                size = (int(width), int(height))
            self.attributes["image_size"] = size
        return int(size[0]), int(size[1])

    @property
    def boxes(self) -> np.ndarray:
        if callable(self._boxes):
            self._boxes = self._boxes()
        if not isinstance(self._boxes, np.ndarray) or self._boxes.dtype != np.float64:
            self._boxes = _as_boxes(self._boxes, self.name)
        return self._boxes

    @property
    def has_masks(self) -> bool:
        return self._masks is not None

    def mask(self, index: int) -> np.ndarray | None:
        """Bool ``(H, W)`` object mask of frame ``index``, None when there is none."""
        if self._masks is None:
            return None
        index = self._check_index(index)
        mask = self._masks(index) if callable(self._masks) else self._masks[index]
        return None if mask is None else np.asarray(mask).astype(bool, copy=False)

    def ignore_mask(self, index: int) -> np.ndarray | None:
        """Bool ``(H, W)`` of pixels that are not scored (DAVIS void label), or None."""
        if self._ignore_masks is None:
            return None
        mask = self._ignore_masks(self._check_index(index))
        return None if mask is None else np.asarray(mask).astype(bool, copy=False)

    @property
    def visible(self) -> np.ndarray | None:
        if callable(self._visible):
            self._visible = self._visible()
        if self._visible is not None and not (
            isinstance(self._visible, np.ndarray) and self._visible.dtype == np.bool_
        ):
            self._visible = np.asarray(self._visible, dtype=bool)
        return self._visible

    @property
    def anchors(self) -> list[int] | None:
        if callable(self._anchors):
            self._anchors = self._anchors()
        return self._anchors

    @property
    def regions(self) -> list[Any] | None:
        """VOT ground-truth regions (rectangles, polygons, masks) when the dataset has them.

        Box-only metrics use ``boxes``; the VOT overlap needs the exact region.
        """
        if callable(self._regions):
            self._regions = self._regions()
        return self._regions


class Dataset:
    """A named, ordered collection of sequences, indexable by position or by name."""

    def __init__(self, name: str, sequences: SequenceABC[Sequence], *, attributes: dict[str, Any] | None = None):
        self.name = str(name)
        self.sequences: list[Sequence] = list(sequences)
        self.attributes: dict[str, Any] = dict(attributes or {})
        self._by_name: dict[str, Sequence] = {}
        for sequence in self.sequences:
            if sequence.name in self._by_name:
                raise ValueError(f"dataset {name!r} has two sequences named {sequence.name!r}")
            self._by_name[sequence.name] = sequence

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} sequences)"

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences)

    def __getitem__(self, key: int | str) -> Sequence:
        if isinstance(key, str):
            try:
                return self._by_name[key]
            except KeyError:
                raise KeyError(f"dataset {self.name!r} has no sequence named {key!r}") from None
        return self.sequences[key]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return [sequence.name for sequence in self.sequences]

    def subset(self, names: SequenceABC[str]) -> Dataset:
        """The sequences named, in the order given (a KeyError names an unknown one)."""
        return Dataset(self.name, [self[name] for name in names], attributes=self.attributes)
