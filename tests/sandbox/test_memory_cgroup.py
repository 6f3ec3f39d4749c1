"""Memory limits count tmpfs pages: each run has a memory cgroup of its own (this machine offers
cgroup v1's memory controller to root), so writing files into /tmp is charged like allocating."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from codearena.sandbox import Limits, Sandbox, _cgroup

FILL_PY = (
    "block = b'x' * (1 << 20)\n"
    "with open('/tmp/fill', 'wb') as out:\n"
    "    for _ in range({mb}):\n        out.write(block)\n"
    "print('wrote')\n"
)


def _hierarchy() -> _cgroup.Hierarchy:
    hierarchy, why = _cgroup.available()
    assert hierarchy is not None, f"no memory cgroup for runs: {why} (run the tests as root)"
    return hierarchy


def test_tmpfs_pages_count_against_the_memory_limit(sandbox: Sandbox) -> None:
    _hierarchy()
    limits = Limits(memory_mb=48, tmpfs_mb=128, timeout_s=10)
    over = sandbox.run(FILL_PY.format(mb=100), "python", limits=limits)
    assert over.verdict == "memory" and "wrote" not in over.stdout, over
    under = sandbox.run(FILL_PY.format(mb=20), "python", limits=limits)
    assert (under.verdict, under.stdout.strip()) == ("passed", "wrote"), under


def test_tmpfs_pages_count_for_other_languages_too(sandbox: Sandbox) -> None:
    _hierarchy()
    limits = Limits(memory_mb=48, tmpfs_mb=128, timeout_s=10)
    over = sandbox.run("head -c 100000000 /dev/zero > /tmp/fill; echo wrote", "bash", limits=limits)
    assert over.verdict == "memory" and "wrote" not in over.stdout, over


def test_each_run_is_in_a_group_of_its_own_that_is_removed_after(sandbox: Sandbox) -> None:
    """Seen from the host while two runs sleep: two groups, each holding processes; none left."""
    hierarchy = _hierarchy()
    seen: list[list[str]] = []

    def look() -> None:
        time.sleep(0.6)
        groups = [p for p in hierarchy.parent.iterdir() if p.name.startswith("run-")]
        seen.append([(p / "cgroup.procs").read_text().split()[0] for p in groups])

    watcher = threading.Thread(target=look)
    watcher.start()
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda _: sandbox.run("import time; time.sleep(1.2)", "python"), range(2))
        )
    watcher.join()
    assert [r.verdict for r in results] == ["passed", "passed"]
    assert len(seen[0]) >= 2 and len(set(seen[0])) == len(seen[0])
    for _ in range(100):  # the groups are removed in the background once their processes end
        left = [p for p in hierarchy.parent.iterdir() if p.name.startswith("run-")]
        if not left:
            break
        time.sleep(0.05)
    assert left == []


def test_the_group_limit_is_the_runs_memory() -> None:
    hierarchy = _hierarchy()
    with _cgroup.run_group(64 << 20) as group:
        assert group is not None
        assert int((group.path / hierarchy.limit_file).read_text()) == 64 << 20
    assert not group.path.exists()  # empty: removed at once
