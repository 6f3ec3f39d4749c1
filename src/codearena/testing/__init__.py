"""Test doubles for codearena (no network, no paid APIs).

Imported lazily so that ``python -m codearena.testing.fake_upstream`` runs cleanly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codearena.testing.fake_providers import FakeProviders
    from codearena.testing.fake_upstream import FakeUpstream, RecordedRequest, serve_forever

__all__ = ["FakeProviders", "FakeUpstream", "RecordedRequest", "serve_forever"]


def __getattr__(name: str) -> Any:
    if name == "FakeProviders":
        return importlib.import_module("codearena.testing.fake_providers").FakeProviders
    if name in __all__:
        return getattr(importlib.import_module("codearena.testing.fake_upstream"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
