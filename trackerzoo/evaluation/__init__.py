"""Metrics that reproduce the official toolkits, region geometry and result-file I/O.

Submodules: ``regions`` (VOT regions, rasters, overlaps, box IoU), ``ope`` (OTB-style
success/precision), ``got10k`` (AO/SR), ``vot`` (anchor-based A/R/EAO), ``davis``
(J/F), ``results_io`` (reading and writing result files) and ``benchmark`` (scoring
a results folder against a loaded dataset with the protocol of its kind).
"""
