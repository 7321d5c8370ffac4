"""RPVT: D3S (online DCF + foreground/background matching) with the CSCR refinement pathway."""

__all__: list[str] = []
