"""Per-frame output of ``track`` and ``demo``: annotated video, masks, boxes, contact sheet."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from trackerzoo.io import AnnotatedVideoWriter, write_boxes, write_mask_png, write_text_atomic
from trackerzoo.prediction import Prediction
from trackerzoo.session import TrackingRun
from trackerzoo.visualize import contact_sheet, draw_prediction


class OutputRecorder:
    """Receives each tracked frame (``on_frame``) and writes results as they come.

    The annotated video and masks are streamed, and a few evenly spaced annotated frames
    are kept for the contact sheet, so memory stays flat on long videos.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        fps: float,
        total_frames: int,
        frame_names: list[str] | None,
        sheet_frames: int = 8,
        write_video: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.frame_names = frame_names
        self.write_video = write_video
        count = max(1, total_frames)
        self.sheet_indices = set(np.linspace(0, count - 1, num=min(sheet_frames, count)).round().astype(int).tolist())
        self.sheet: list[np.ndarray] = []
        self._video: AnnotatedVideoWriter | None = None

    def on_frame(self, index: int, frame: np.ndarray, prediction: Prediction) -> None:
        annotated = draw_prediction(frame, prediction, label=f"#{index} {prediction.score:.2f}")
        if self.write_video:
            if self._video is None:
                self._video = AnnotatedVideoWriter(self.out_dir / "annotated.mp4", self.fps, frame.shape[:2])
            self._video.write(annotated)
        if prediction.mask is not None:
            name = self.frame_names[index] if self.frame_names else f"{index:05d}"
            write_mask_png(self.out_dir / "masks" / f"{name}.png", prediction.mask)
        if index in self.sheet_indices:
            self.sheet.append(annotated)

    def finish(self, run: TrackingRun) -> dict[str, Path]:
        if self._video is not None:
            self._video.close()
        files = {"boxes": self.out_dir / "boxes.txt", "scores": self.out_dir / "scores.txt"}
        write_boxes(files["boxes"], (p.box for p in run.predictions))
        write_text_atomic(files["scores"], "".join(f"{p.score:.6f}\n" for p in run.predictions))
        write_text_atomic(self.out_dir / "times.txt", "".join(f"{s:.6f}\n" for s in run.seconds))
        if self.sheet:
            files["contact_sheet"] = self.out_dir / "contact_sheet.png"
            sheet = contact_sheet(self.sheet)
            cv2.imwrite(str(files["contact_sheet"]), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        if self._video is not None:
            files["video"] = self.out_dir / "annotated.mp4"
        return files


def speed_summary(run: TrackingRun) -> str:
    """``"init 412.3 ms, 38.5 FPS"``: the first frame's initialisation apart from the later frames' speed.

    ``run.seconds[0]`` is ``Tracker.initialize``; ``run.fps`` counts the ``track`` calls
    after it. Either reads ``n/a`` when unknown (no frames, or one frame only).
    """
    init = f"init {run.seconds[0] * 1000:.1f} ms" if run.seconds else "init n/a"
    fps = f"{run.fps:.1f} FPS" if run.fps == run.fps else "n/a FPS"  # NaN != NaN
    return f"{init}, {fps}"
