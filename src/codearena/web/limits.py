"""Per-participant rate limits (sliding windows, in memory) and the platform's limits."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass

JOINS_LIMITED = "too many joins from this address in a minute: wait a minute and try again"


@dataclass(frozen=True)
class PlatformLimits:
    tasks_per_minute: int = 6
    running_tasks: int = 2
    runs_per_minute: int = 20
    logins_per_minute: int = 10
    joins_per_minute: int = 20  # per client address; ``[web] joins_per_minute`` overrides it
    max_tests_chars: int = 50_000
    max_comment_chars: int = 5_000
    run_timeout_s: float = 10.0


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds for each key."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, limit: int, window: float = 60.0) -> bool:
        now = time.monotonic()
        events = self._events[key]
        while events and events[0] <= now - window:
            events.popleft()
        if len(events) >= limit:
            return False
        events.append(now)
        return True
