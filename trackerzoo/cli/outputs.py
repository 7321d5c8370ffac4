"""Per-frame output of ``track`` and ``demo``: annotated video, masks, boxes, contact sheet.

Results are streamed as frames are tracked, so a run that stops early (Ctrl-C,
SIGTERM, a frame that does not decode, a tracker error) keeps every frame it tracked,
and memory stays flat on long videos:

* ``boxes.txt``/``scores.txt``/``times.txt``: one line per frame, appended and
  flushed after each frame (line 1 = the first tracked frame, the initial target);
* ``masks/<frame>.png``: written as each mask comes (mask trackers only);
* ``annotated.mp4``: encoded to a hidden ``.annotated.partial.mp4`` and renamed when the
  recorder finishes, so the name always points at a complete video;
* ``contact_sheet.png``: a few evenly spaced annotated frames.

An output folder holds one run: on the first frame the recorder removes the files a
previous run left under these names, so a video and its boxes always belong together;
a run that fails before its first frame (a bad box, say) leaves the folder as it was.
Other files in the folder are left alone.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from trackerzoo.io import AnnotatedVideoWriter, write_mask_png
from trackerzoo.io.writers import format_box_line
from trackerzoo.session import FrameResult
from trackerzoo.visualize import contact_sheet, draw_prediction

RUN_FILES = ("boxes.txt", "scores.txt", "times.txt", "annotated.mp4", ".annotated.partial.mp4", "contact_sheet.png")
RUN_FOLDERS = ("masks",)


def clear_previous_run(out_dir: Path) -> None:
    """Remove the files and folders a previous run of ``track``/``demo`` wrote into ``out_dir``."""
    for name in RUN_FILES:
        (out_dir / name).unlink(missing_ok=True)
    for name in RUN_FOLDERS:
        folder = out_dir / name
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        elif folder.exists() or folder.is_symlink():
            folder.unlink()


def _finite_list(values: Any) -> Any:
    """Nested lists of floats with non-finite numbers as ``None`` (JSON has no NaN)."""
    array = np.asarray(values, dtype=np.float64)
    return [None if not math.isfinite(v) else v for v in array.tolist()] if array.ndim == 1 else [
        _finite_list(row) for row in array]


class OutputRecorder:
    """Receives each tracked frame (``add``) and writes it out at once; ``finish`` closes the run.

    ``first_index`` is the source index of the run's first frame (``--start``): it names
    mask files (``frame_names[index]`` for image sources, else the zero-padded index)
    and the ``frame`` of JSON lines. ``json_stream``, when given, receives one JSON object
    per frame: ``{"source", "frame", "box", "score", "rotated_box", "mask"}`` (``box``
    ``[x, y, w, h]`` pixels, ``rotated_box`` four ``[x, y]`` corners or ``null``, ``mask``
    the PNG path or ``null``). Predictions are not kept: only counts and times for the
    summary and at most ``2 * sheet_frames + 1`` annotated frames for the contact sheet.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        fps: float,
        frame_names: Sequence[str] | None,
        first_index: int = 0,
        sheet_frames: int = 8,
        write_video: bool = True,
        json_stream: IO[str] | None = None,
        label: str = "",
    ) -> None:
        self.out_dir = Path(out_dir)
        self.fps = fps
        self.frame_names = frame_names
        self.first_index = first_index
        self.write_video = write_video
        self.json_stream = json_stream
        self.label = label
        self.frames_written = 0
        self.init_seconds = math.nan
        self.track_seconds = 0.0
        self._sheet_size = sheet_frames
        self._sheet: list[tuple[int, np.ndarray]] = []
        self._sheet_stride = 1
        self._last: tuple[int, np.ndarray] | None = None
        self._video: AnnotatedVideoWriter | None = None
        self._masks = 0
        self._finished = False
        self.paths = {kind: self.out_dir / f"{kind}.txt" for kind in ("boxes", "scores", "times")}
        self._streams: dict[str, IO[str]] = {}

    def _start(self) -> None:
        """On the first frame (so a run that fails before it leaves the folder as it was): clear and open."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        clear_previous_run(self.out_dir)
        self._streams = {kind: path.open("w", encoding="utf-8") for kind, path in self.paths.items()}

    @property
    def fps_tracked(self) -> float:
        """Frames per second of ``track()`` calls alone (the initialisation excluded); NaN before frame 2."""
        tracked = self.frames_written - 1
        return tracked / self.track_seconds if tracked > 0 and self.track_seconds > 0 else math.nan

    def add(self, step: FrameResult) -> np.ndarray:
        """Write one frame's results; returns the annotated RGB frame (for a window)."""
        if self._finished:
            raise ValueError(f"the run in {str(self.out_dir)!r} is already finished")
        if not self._streams:
            self._start()
        index = self.first_index + step.index
        prediction = step.prediction
        annotated = draw_prediction(step.frame, prediction, label=f"#{index} {prediction.score:.2f}")
        if self.write_video:
            if self._video is None:
                self._video = AnnotatedVideoWriter(self.out_dir / "annotated.mp4", self.fps, step.frame.shape[:2])
            self._video.write(annotated)
        mask_path = None
        if prediction.mask is not None:
            name = self.frame_names[index] if self.frame_names else f"{index:05d}"
            mask_path = self.out_dir / "masks" / f"{name}.png"
            write_mask_png(mask_path, prediction.mask)
            self._masks += 1
        lines = {"boxes": format_box_line(prediction.box), "scores": f"{prediction.score:.6f}",
                 "times": f"{step.seconds:.6f}"}
        for kind, line in lines.items():
            self._streams[kind].write(line + "\n")
            self._streams[kind].flush()
        if step.index == 0:
            self.init_seconds = step.seconds
        else:
            self.track_seconds += step.seconds
        self.frames_written += 1
        self._keep_for_sheet(step.index, annotated)
        if self.json_stream is not None:
            record = {"source": self.label, "frame": index, "box": _finite_list(prediction.box),
                      "score": prediction.score if math.isfinite(prediction.score) else None,
                      "rotated_box": None if prediction.rotated_box is None else _finite_list(prediction.rotated_box),
                      "mask": None if mask_path is None else str(mask_path)}
            self.json_stream.write(json.dumps(record) + "\n")
            self.json_stream.flush()
        return annotated

    def _keep_for_sheet(self, index: int, annotated: np.ndarray) -> None:
        """Keep every ``stride``-th frame, halving the kept ones and doubling the stride when full."""
        self._last = (index, annotated)
        if index % self._sheet_stride:
            return
        self._sheet.append((index, annotated))
        if len(self._sheet) > 2 * self._sheet_size:
            self._sheet = self._sheet[::2]
            self._sheet_stride *= 2

    def sheet_frames(self) -> list[np.ndarray]:
        """At most ``sheet_frames`` evenly spaced annotated frames, the first and last included."""
        kept = list(self._sheet)
        if self._last is not None and (not kept or kept[-1][0] != self._last[0]):
            kept.append(self._last)
        if len(kept) <= self._sheet_size:
            return [frame for _, frame in kept]
        chosen = np.linspace(0, len(kept) - 1, num=self._sheet_size).round().astype(int)
        return [kept[i][1] for i in chosen]

    def finish(self) -> dict[str, Path]:
        """Close the streams, finish the video and write the contact sheet; returns the files written.

        Safe to call more than once and after an error or interruption: everything added
        so far is kept.
        """
        if not self._finished:
            self._finished = True
            for stream in self._streams.values():
                stream.close()
            if self._video is not None:
                self._video.close()
            frames = self.sheet_frames()
            if frames:
                sheet = contact_sheet(frames)
                cv2.imwrite(str(self.out_dir / "contact_sheet.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
            self._sheet, self._last = [], None
        if self.frames_written == 0:
            return {}
        files = {"boxes": self.paths["boxes"], "scores": self.paths["scores"]}
        if self._masks:
            files["masks"] = self.out_dir / "masks"
        if (self.out_dir / "contact_sheet.png").is_file():
            files["contact_sheet"] = self.out_dir / "contact_sheet.png"
        if self._video is not None:
            files["video"] = self._video.path
        return files

    @property
    def video_codec(self) -> str | None:
        """How the video's codec is described (``H.264`` or ``mp4v (...)``), ``None`` without a video."""
        return None if self._video is None else self._video.codec


def speed_summary(init_seconds: float, fps: float) -> str:
    """``"init 412.3 ms, 38.5 FPS"``: the first frame's initialisation apart from the later frames' speed.

    ``init_seconds`` is the ``Tracker.initialize`` call (seconds), ``fps`` the frames per
    second of the ``track`` calls after it; either reads ``n/a`` when unknown (NaN).
    """
    init = f"init {init_seconds * 1000:.1f} ms" if math.isfinite(init_seconds) else "init n/a"
    speed = f"{fps:.1f} FPS" if math.isfinite(fps) else "n/a FPS"
    return f"{init}, {speed}"
