"""Constants of palette ("index") label PNGs, as DAVIS and YouTube-VOS annotate objects.

Each pixel of such a PNG holds an object id: 0 is background, 1..254 are objects and
``VOID_LABEL`` marks pixels the annotators left undecided (object borders, DAVIS 2017
``Annotations``); the DAVIS metrics ignore void pixels and the loaders never treat
the void value as an object id. Source: davis2017-evaluation (``davis2017/davis.py``,
``DAVIS.VOID_LABEL = 255``).
"""

from __future__ import annotations

VOID_LABEL: int = 255
