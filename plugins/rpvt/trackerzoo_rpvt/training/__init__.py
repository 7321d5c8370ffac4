"""The ``rpvt`` training recipe."""
