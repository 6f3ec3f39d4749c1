"""The images a run writes come back to the host (``codearena.sandbox.artifacts``), and a
hostile program cannot use that path to read anything but its own files, to block or flood the
host, or to change its verdict. Every attack here runs in the real fork server."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import pytest

from codearena.sandbox import Artifact, BwrapSandbox, ExecResult, Limits, TestSpec, run_tests
from codearena.sandbox.artifacts import parse_artifacts

PNG_WRITER = r"""
import struct, zlib
def png(w, h):
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
"""
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script></svg>'


def tiny_png() -> bytes:
    namespace: dict[str, object] = {"struct": struct, "zlib": zlib}
    exec(PNG_WRITER, namespace)
    data = namespace["png"](2, 2)  # type: ignore[operator]
    assert isinstance(data, bytes)
    return data


def by_name(result: ExecResult) -> dict[str, Artifact]:
    return {a.name: a for a in result.artifacts}


def test_png_and_svg_written_by_the_program_come_back_whole(forked: BwrapSandbox) -> None:
    program = PNG_WRITER + (
        'open("b_plot.png", "wb").write(png(2, 2))\n'
        f"open('a_fig.svg', 'w').write({SVG!r})\n"
        'open("notes.txt", "w").write("not an image")\n'
        "print('saved')\n"
    )
    result = forked.run(program, "python")
    assert result.verdict == "passed", result.stderr
    assert [a.name for a in result.artifacts] == ["a_fig.svg", "b_plot.png"]
    svg, png = result.artifacts
    assert (svg.media_type, svg.data, svg.note) == ("image/svg+xml", SVG.encode(), None)
    assert (png.media_type, png.data, png.size_bytes) == ("image/png", tiny_png(), len(tiny_png()))
    shown = result.to_dict()["artifacts"][1]
    assert base64.b64decode(shown["data_base64"]) == tiny_png() and shown["note"] is None


def test_links_fifos_directories_and_unreadable_files_are_never_read(
    forked: BwrapSandbox,
) -> None:
    program = (
        "import os\n"
        "os.symlink('/etc/passwd', 'passwd.png')\n"
        "os.symlink('/proc/1/environ', 'environ.svg')\n"
        "os.mkfifo('pipe.png')\n"  # opening it for reading without O_NONBLOCK would block
        "os.mkdir('folder.svg')\n"
        f"open('locked.svg', 'w').write({SVG!r})\n"
        "os.chmod('locked.svg', 0)\n"
        "open('empty.png', 'wb').close()\n"
    )
    result = forked.run(program, "python", limits=Limits(timeout_s=10))
    assert result.verdict == "passed", result.stderr
    found = by_name(result)
    assert set(found) == {
        "passwd.png", "environ.svg", "pipe.png", "folder.svg", "locked.svg", "empty.png"
    }  # fmt: skip
    for artifact in found.values():
        assert artifact.data == b"" and not artifact.kept
    assert "not a regular file" in str(found["passwd.png"].note)
    assert "not a regular file" in str(found["pipe.png"].note)
    assert "unreadable" in str(found["locked.svg"].note)
    assert "empty" in str(found["empty.png"].note)


def test_files_that_lie_about_their_kind_are_not_kept(forked: BwrapSandbox) -> None:
    program = (
        "open('page.svg', 'w').write('<html><script>alert(1)</script></html>')\n"
        "open('page.png', 'w').write('<svg onload=alert(1)></svg>')\n"
        "open('binary.svg', 'wb').write(bytes(range(256)))\n"
    )
    result = forked.run(program, "python")
    found = by_name(result)
    assert set(found) == {"page.svg", "page.png", "binary.svg"}
    assert not any(a.kept for a in result.artifacts)
    assert "not a PNG" in str(found["page.png"].note)
    assert "not an SVG" in str(found["page.svg"].note)


def test_size_and_count_are_capped(forked: BwrapSandbox) -> None:
    program = PNG_WRITER + (
        "open('huge.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(3 << 20))\n"
        "for i in range(40):\n"
        "    open(f'fig{i:02}.png', 'wb').write(png(2, 2))\n"
    )
    limits = Limits(artifact_count=5, artifact_bytes=1 << 20, tmpfs_mb=64)
    result = forked.run(program, "python", limits=limits)
    assert result.verdict == "passed", result.stderr
    kept = [a for a in result.artifacts if a.kept]
    assert [a.name for a in kept] == [f"fig{i:02}.png" for i in range(5)]
    assert len(result.artifacts) == 10  # listed up to twice the count kept
    dropped = [a for a in result.artifacts if not a.kept]
    assert all("over the 5 images" in str(a.note) for a in dropped)
    alone = forked.run(program, "python", limits=limits.replace(artifact_count=50))
    huge = by_name(alone)["huge.png"]
    assert huge.size_bytes == (3 << 20) + 8 and not huge.kept
    assert "over the run's 1 MB" in str(huge.note)
    assert sum(len(a.data) for a in alone.artifacts) <= 1 << 20


def test_thousands_of_files_and_a_writer_that_never_stops_do_not_hold_the_run(
    forked: BwrapSandbox,
) -> None:
    program = (
        "import os\n"
        "for i in range(6000):\n"
        "    open(f'f{i:05}.png', 'wb').close()\n"
        "if os.fork() == 0:\n"  # keeps growing an image after the main process has exited
        "    out = open('growing.svg', 'w')\n"
        "    out.write('<svg>')\n"
        "    while True:\n"
        "        out.write('x' * 65536)\n"
        "        out.flush()\n"
    )
    result = forked.run(program, "python", limits=Limits(timeout_s=20, tmpfs_mb=64))
    assert result.verdict in ("passed", "error"), result.stderr
    assert len(result.artifacts) <= 16
    again = forked.run("print('next')", "python")
    assert again.stdout == "next\n" and again.artifacts == []


def test_subdirectories_and_the_hosts_own_files_are_not_collected(forked: BwrapSandbox) -> None:
    program = (
        PNG_WRITER + "import os\nos.mkdir('out')\nopen('out/deep.png', 'wb').write(png(2, 2))\n"
    )
    result = forked.run(program, "python", files={"given.svg": SVG})
    assert result.verdict == "passed", result.stderr
    assert result.artifacts == []


def test_no_collection_when_the_count_is_zero(forked: BwrapSandbox) -> None:
    program = PNG_WRITER + "open('plot.png', 'wb').write(png(2, 2))\n"
    assert forked.run(program, "python", limits=Limits(artifact_count=0)).artifacts == []


def test_a_test_run_brings_back_the_candidates_images_and_its_verdict_stays_the_tests(
    forked: BwrapSandbox,
) -> None:
    wrong = PNG_WRITER + (
        "open('at_import.png', 'wb').write(png(2, 2))\n"
        "def add(a, b):\n"
        "    open('in_call.svg', 'w').write('<svg></svg>')\n"
        "    for i in range(30):\n"
        "        open(f'passed{i:02}.svg', 'w').write('<svg>passed</svg>')\n"
        "    return a - b\n"
    )
    tests = TestSpec(
        kind="python", code="open('tests.svg', 'w').write('<svg/>')\nassert add(1, 2) == 3\n"
    )
    result = run_tests(forked, wrong, "python", tests)
    assert result.verdict == "failed" and result.tests_passed == 0
    names = [a.name for a in result.artifacts]
    assert "at_import.png" in names and "in_call.svg" in names
    assert "tests.svg" not in names  # the tests' own process is not collected
    right = wrong.replace("return a - b", "return a + b")
    assert run_tests(forked, right, "python", tests).verdict == "passed"


@pytest.mark.parametrize(
    "archive",
    [
        b"",
        b"garbage",
        b"3\n",
        b"1\n9 100 100 ok\nplot.png",  # data shorter than it says
        b"1\n-1 0 0 ok\n",
        b"2\n8 3 3 ok\nplot.pngabc\n999999999999 0 0 ok\n",
    ],
)
def test_a_malformed_archive_gives_what_was_read_before_the_fault(archive: bytes) -> None:
    found = parse_artifacts(archive, count=8, budget=1 << 20)
    assert all(not a.kept for a in found)  # b"abc" is no PNG: nothing malformed is kept


def test_the_host_enforces_the_caps_whatever_the_archive_says() -> None:
    png = tiny_png()
    entries = [b"%d %d %d ok\n" % (len(f"f{i}.png"), len(png), len(png)) + f"f{i}.png".encode() + png for i in range(10)]  # fmt: skip
    entries.append(b"10 3 3 ok\n../etc.svg<svg")
    archive = b"%d\n" % len(entries) + b"".join(entries)
    found = parse_artifacts(archive, count=3, budget=2 * len(png), inputs={"f0.png"})
    assert [a.name for a in found if a.kept] == ["f1.png", "f2.png"]
    assert all(a.name != "../etc.svg" for a in found) and "f0.png" not in {a.name for a in found}
    assert len(found) == 6


def test_a_real_matplotlib_figure_comes_back(forked: BwrapSandbox) -> None:
    """With matplotlib offered read-only (``[sandbox] python_paths``), ``savefig`` works."""
    import matplotlib

    site = str(Path(matplotlib.__file__).parents[1])
    box = BwrapSandbox(python_paths=[site])
    try:
        program = (
            "import matplotlib.pyplot as plt\n"
            "plt.plot([1, 2, 3], [1, 4, 9])\n"
            "plt.savefig('plot.png')\n"
            "plt.savefig('plot.svg')\n"
        )
        result = box.run(program, "python", limits=Limits(timeout_s=60, memory_mb=1024))
    finally:
        box.close()
    assert result.verdict == "passed", result.stderr
    png, svg = result.artifacts
    assert (png.name, svg.name) == ("plot.png", "plot.svg") and png.kept and svg.kept
    assert png.data.startswith(b"\x89PNG") and b"<svg" in svg.data
