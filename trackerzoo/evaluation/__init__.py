"""Metrics that reproduce the official toolkits and the runner that produces results.

Submodules: ``ope`` (OTB-style success/precision), ``got10k`` (AO/SR), ``vot``
(anchor-based A/R/EAO), ``davis`` (J/F), ``benchmark`` (scoring a results folder
against a loaded dataset with the protocol of its kind), ``runner`` (tracking a
dataset through ``trackerzoo.create`` and ``trackerzoo.session.run_tracker``) and
``plots``. Region geometry and the result-file formats live one layer down, in
``trackerzoo.formats`` (see docs/architecture.md).
"""
