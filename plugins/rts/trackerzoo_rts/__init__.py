"""RTS (Robust Visual Tracking by Segmentation) for trackerzoo."""
