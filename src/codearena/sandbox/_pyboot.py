"""The bootstrap that starts Python programs in the bwrap sandbox (``python -I -S -B -c BOOT``).

Why: ``site`` is about half of Python's start-up, and every exec of a helper (``prlimit``,
``setpriv``) costs a dynamic-linker start. The bootstrap is trusted code that runs first in the
sandboxed interpreter, before anything from the program is read, and does what those did:

1. (root only) drops to the run's own uid: no supplementary groups, then ``setresgid`` and
   ``setresuid``; leaving uid 0 clears the permitted, effective and ambient capabilities (bwrap
   has already dropped every capability but CAP_SETUID/CAP_SETGID and set no_new_privs);
2. moves the run's channels (if any) to fds 3, 4, ... and closes every other inherited fd
   above 2, then sets the rlimits (AS, CPU, FSIZE, NOFILE, NPROC, MSGQUEUE, CORE=0),
   soft = hard (bwrap has already installed the syscall filter);
3. defines ``exit``, ``quit`` and ``help`` as ``site`` would (not the interactive-only
   ``copyright``/``credits``/``license``: setting those up imports ``os``), puts the program's
   directory (then ``python_paths``) first on ``sys.path``, sets ``sys.argv`` and ``__file__``;
4. compiles the program under its own file name and runs it in ``__main__``, so
   ``if __name__ == "__main__":`` works and tracebacks show the program's file and lines; an
   excepthook hides the bootstrap's own frames (a SyntaxError prints exactly as with
   ``python main.py``).
"""

from __future__ import annotations

import resource

PYTHON_START = """\
    import sys, builtins, _sitebuiltins
    eof = "Ctrl-D (i.e. EOF)"
    builtins.exit = _sitebuiltins.Quitter("exit", eof)
    builtins.quit = _sitebuiltins.Quitter("quit", eof)
    builtins.help = _sitebuiltins._Helper()
    sys.path[0:0] = {paths!r}
    sys.argv[:] = [{name!r}]
    hook = sys.excepthook
    def excepthook(kind, value, tb):
        while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
            tb = tb.tb_next
        if isinstance(value, BaseException):
            value.__traceback__ = tb
        hook(kind, value, tb)
    sys.excepthook = excepthook
    with open({path!r}, "rb") as fh:
        return compile(fh.read(), {path!r}, "exec", dont_inherit=True)
"""
"""The end of a bootstrap function (placeholders ``paths``, ``name``, ``path``; 4-space body
indent): ``exit``/``quit``/``help`` as ``site`` defines them, ``sys.path``/``sys.argv``, the
traceback filter, and the program compiled under its own name. Shared with gVisor's init."""

_TEMPLATE = (
    """\
def _codearena_boot():
    del globals()["_codearena_boot"]
    import sys, builtins, _sitebuiltins
    from posix import closerange, dup2, setgroups, setresgid, setresuid
    from resource import RLIMIT_CPU, setrlimit
    uid = {uid!r}
    if uid is not None:
        setgroups([])
        setresgid(uid, uid, uid)
        setresuid(uid, uid, uid)
    channels = {channels!r}
    base = max(channels, default=0) + 1
    for i, fd in enumerate(channels):
        dup2(fd, base + i)
    for i in range(len(channels)):
        dup2(base + i, 3 + i)
    closerange(3 + len(channels), 1 << 20)
    for which, value in {limits!r}:
        setrlimit(which, (value, value + 1 if which == RLIMIT_CPU else value))
"""
    + PYTHON_START
    + """__file__ = {path!r}
__cached__ = None
exec(_codearena_boot(), globals())
"""
)


def bootstrap(
    *,
    workdir: str,
    name: str,
    uid: int | None,
    address_space: int,
    cpu_s: int,
    file_size: int,
    open_files: int,
    processes: int,
    message_queue: int,
    python_paths: tuple[str, ...] = (),
    channels: tuple[int, ...] = (),
) -> str:
    """The ``-c`` code that drops privileges, sets rlimits and runs ``workdir/name``."""
    limits = (
        (resource.RLIMIT_AS, address_space),
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_FSIZE, file_size),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, processes),
        (resource.RLIMIT_MSGQUEUE, message_queue),
    )
    path = f"{workdir}/{name}"
    return _TEMPLATE.format(
        uid=uid,
        channels=channels,
        limits=limits,
        paths=[workdir, *python_paths],
        name=name,
        path=path,
    )
