"""RPVT's online part: D3S's geometrically constrained module (ATOM's DCF)."""
