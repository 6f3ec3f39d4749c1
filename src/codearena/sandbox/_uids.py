"""Per-run host uids for sandboxes started as root.

Every run started by root executes as a host uid of its own, drawn from a block of 65536 uids
that no account uses (from 2,100,000,000), and as nothing else: there is no user namespace, so
the kernel charges every per-user resource (RLIMIT_NPROC, inotify instances and watches, POSIX
message-queue bytes, pending signals, ...) to that uid alone, never to the host's root, and a
run's budget is its own. A uid is leased by binding an abstract unix socket named after it: the
kernel makes that atomic across every codearena process on the machine and frees it when the
holder exits, however it exits.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator

HOST_UID_BASE = 2_100_000_000
UID_COUNT = 65536
_NAME = b"\0codearena-sandbox-uid-%d"


@contextlib.contextmanager
def lease_uid() -> Iterator[int]:
    """A host uid that no other run on this machine holds until the block exits."""
    for _ in range(UID_COUNT):
        uid = HOST_UID_BASE + random.randrange(UID_COUNT)
        lease = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            lease.bind(_NAME % uid)
        except OSError:
            lease.close()
            continue
        try:
            yield uid
        finally:
            lease.close()
        return
    raise RuntimeError("every sandbox uid is in use")
