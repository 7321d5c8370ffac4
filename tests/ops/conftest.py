"""The ops tests run without a dispatch table, so ``auto`` means "the kernel when built".

A tuned table in the user's cache (or the shipped one) would make ``auto`` pick other paths
depending on the machine; the tests of the table set one explicitly.
"""

from __future__ import annotations

import pytest

from trackerzoo.ops import _table


@pytest.fixture(autouse=True)
def no_dispatch_table(monkeypatch):
    monkeypatch.setenv(_table.TABLE_ENV_VAR, "off")
    _table.set_table(None)
    yield
    _table.set_table(None)
