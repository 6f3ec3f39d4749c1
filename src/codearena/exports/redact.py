"""The last guard against a key in an export.

The store never holds API keys, but an upstream error message may quote one, and a participant
may paste one into a task. Before anything is written, every text (JSON values included) is
searched for the values of key-like environment variables (plus the keys the CLI's settings
resolve, key files included) and for the shapes of well-known provider keys; each match becomes
``[REDACTED]`` and the manifest counts them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from codearena.exports.collect import Rows

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8  # shorter values would blank out ordinary words
_SECRET_NAME = re.compile(r"(?:API_KEY|_KEY|_TOKEN|_SECRET|PASSWORD)$", re.IGNORECASE)
_KEY_SHAPES = re.compile(
    r"sk-or-v1-[0-9a-f]{64}"  # OpenRouter
    r"|sk-(?:proj-|svcacct-|admin-|ant-api\d\d-)?[A-Za-z0-9_-]{40,}"  # OpenAI, Anthropic
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
)


def environment_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of variables whose name says they hold a key, token, secret or password."""
    env = os.environ if environ is None else environ
    return {
        value.strip()
        for name, value in env.items()
        if _SECRET_NAME.search(name) and len(value.strip()) >= MIN_SECRET_LENGTH
    }


def _looks_like_key(match: str) -> bool:
    return sum(c.isdigit() for c in match) >= 4 and sum(c.isalpha() for c in match) >= 8


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._exact = re.compile("|".join(re.escape(v) for v in values)) if values else None
        self.count = 0

    def text(self, value: str) -> str:
        if self._exact is not None:
            value, n = self._exact.subn(REDACTED, value)
            self.count += n

        def shape(match: re.Match[str]) -> str:
            if not _looks_like_key(match.group(0)):
                return match.group(0)
            self.count += 1
            return REDACTED

        return _KEY_SHAPES.sub(shape, value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        return value

    def rows(self, rows: Rows) -> Rows:
        return {
            name: [{k: self.value(v) for k, v in row.items()} for row in table]
            for name, table in rows.items()
        }
