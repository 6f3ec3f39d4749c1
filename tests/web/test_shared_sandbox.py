"""The web platform holds one sandbox for its lifetime, built from ``[sandbox]`` like the CLI's."""

from __future__ import annotations

import dataclasses

from codearena.pipeline import Context
from codearena.sandbox import BwrapSandbox, UnisolatedSandbox
from codearena.web.app import create_app
from codearena.web.state import Platform


def test_every_run_uses_the_one_configured_sandbox(context: Context) -> None:
    app = create_app(context)
    platform: Platform = app.state.platform
    first, second = platform.sandbox_factory(), platform.sandbox_factory()
    assert first is second and isinstance(first, BwrapSandbox)
    result = first.run("print(1)", "python")
    assert (result.verdict, result.stdout) == ("passed", "1\n")
    close = getattr(platform.sandbox_factory, "close", None)
    assert callable(close)
    close()
    assert platform.sandbox_factory() is not first  # a new one after the app closed its own


def test_the_sandbox_follows_the_configuration(context: Context) -> None:
    settings = dataclasses.replace(
        context.settings,
        sandbox=dataclasses.replace(context.settings.sandbox, backend="unisolated"),
    )
    app = create_app(Context(settings, context.store, context.catalog))
    assert isinstance(app.state.platform.sandbox_factory(), UnisolatedSandbox)
