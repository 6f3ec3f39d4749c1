"""Fixtures for the sandbox tests: a real bubblewrap sandbox and a leftover-process scanner."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codearena.sandbox import BwrapSandbox, Sandbox, get_sandbox


@pytest.fixture(scope="session", params=["fork_server", "bwrap_per_run"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The bwrap backend with each Python strategy: the warm fork server (the default, as
    root) and one bwrap per run. Other languages always take one bwrap per run."""
    forked = request.param == "fork_server"
    if forked and os.geteuid() != 0:
        pytest.skip("the fork server needs root (per-run uids); one bwrap per run is used")
    box = get_sandbox("bwrap", fork_server=forked)
    assert isinstance(box, BwrapSandbox) and box.fork_server is forked
    yield box
    box.close()


@pytest.fixture(scope="session")
def forked() -> Iterator[BwrapSandbox]:
    """A sandbox whose Python runs go through the fork server (root only)."""
    if os.geteuid() != 0:
        pytest.skip("the fork server needs root")
    box = get_sandbox("bwrap")
    assert isinstance(box, BwrapSandbox) and box.fork_server
    yield box
    box.close()


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker`` (scans /proc, no psutil)."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_gone(marker: str, attempts: int = 40) -> list[int]:
    """Poll until no process carries ``marker``; returns what is left (empty when clean)."""
    left = processes_with(marker)
    for _ in range(attempts):
        if not left:
            break
        time.sleep(0.05)
        left = processes_with(marker)
    return left


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique string to put into sandboxed command lines; checked for leftovers afterwards."""
    value = "cxmark" + secrets.token_hex(6)
    yield value
    assert wait_gone(value) == [], f"processes with {value} survived the run"
    assert subprocess.run(["true"], check=False).returncode == 0  # the host can still fork
