"""The language table: aliases, file names, compile and run commands, runtime needs."""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .types import UnsupportedLanguage

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
"""PATH inside the sandbox; a toolchain elsewhere (``~/.cargo/bin``) is not visible there."""


@dataclass(frozen=True)
class Language:
    """How to build and run one language inside a sandbox.

    ``compile`` and ``run`` are argv templates; placeholders: ``{src}`` (source file name),
    ``{main}`` (Java class name), ``{mem}`` (memory limit in MiB), ``{python}`` (interpreter).
    ``address_space_extra_mb`` is added to ``Limits.memory_mb`` for RLIMIT_AS (and the memory
    cgroup): runtimes such as the JVM and V8 reserve far more virtual memory than they use, and
    compilers (rustc, tsc, mcs) need room beside the program's own limit. ``executables`` are
    looked up on the sandbox's PATH (``SANDBOX_PATH``), ``packages`` are the Debian packages that
    provide them (named in the error when one is missing), ``support_files`` are written into the
    working directory beside the program (trusted files of the toolchain's, such as a declaration
    file), and ``binds`` are host directories outside ``/usr`` made visible read-only.
    """

    name: str
    aliases: tuple[str, ...]
    extensions: tuple[str, ...]
    source_name: str
    run: tuple[str, ...]
    compile: tuple[str, ...] | None = None
    executables: tuple[str, ...] = ()
    address_space_extra_mb: int = 0
    min_processes: int = 1
    env: tuple[tuple[str, str], ...] = ()
    binds: tuple[str, ...] = field(default_factory=tuple)
    packages: tuple[str, ...] = ()
    support_files: tuple[tuple[str, str], ...] = ()
    prepare: Callable[[str], str] | None = field(default=None, compare=False)
    """Rewrites the program's text before it is written (Matlab scripts for Octave)."""

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    def missing(self) -> list[str]:
        """The executables not found on the sandbox's PATH (what a run inside it would see)."""
        return [exe for exe in self.executables if shutil.which(exe, path=SANDBOX_PATH) is None]

    def available(self) -> bool:
        return not self.missing()


def python_executable() -> str:
    """The base interpreter (not a venv shim) whose prefix the sandbox binds read-only."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / f"python{version}"
    if candidate.exists():
        return str(candidate)
    return os.path.realpath(sys.executable)


def _java_conf_dirs() -> tuple[str, ...]:
    return tuple(sorted(glob.glob("/etc/java-*")))


def _existing(*paths: str) -> tuple[str, ...]:
    return tuple(p for p in paths if os.path.isdir(p))


NODE_DECLARATIONS_FILE = "codearena-node.d.ts"
NODE_DECLARATIONS = """\
// codearena: Node's globals and modules, loosely typed (Debian has no @types/node).
declare var require: any;
declare var module: any;
declare var exports: any;
declare var process: any;
declare var Buffer: any;
type Buffer = any;
declare var global: any;
declare var __dirname: string;
declare var __filename: string;
declare namespace NodeJS {
  type Process = any;
  type ReadStream = any;
  type WriteStream = any;
  type ReadableStream = any;
  type WritableStream = any;
  type Timeout = any;
  type ErrnoException = any;
}
declare module "*";
"""
"""TypeScript programs are type-checked by tsc without Node's type definitions: this file, put
beside the program, declares Node's globals (``process``, ``require``, ``Buffer`` ...) and every
module as ``any``, so ``readline`` or ``fs`` programs compile; a type error in the program's own
code is still a compile error."""


_MATLAB_FUNCTION = re.compile(r"^[ \t]*function\b", re.M)
_MATLAB_NOT_CODE = re.compile(r"^[ \t]*(?:[%#].*)?$")


def matlab_script(program: str) -> str:
    """A Matlab script with local functions at its end, in the order Octave runs it.

    Matlab allows a script's local functions only at the end of the file; Octave 7 defines a
    function of a script only when execution reaches it. So the functions are moved in front
    of the script's code, after a ``1;`` that keeps the file a script (a file that begins with
    ``function`` is a function file in both). A file that begins with its functions (a function
    file, or a script that defines them first) is left as written.
    """
    match = _MATLAB_FUNCTION.search(program)
    if match is None:
        return program
    head = program[: match.start()]
    if all(_MATLAB_NOT_CODE.match(line) for line in head.splitlines()):
        return program
    tail = program[match.start() :]
    return f"1;\n{tail.rstrip()}\n\n{head}"


def _go_root() -> tuple[str, ...]:
    go = shutil.which("go")
    if go is None:
        return ()
    root = Path(os.path.realpath(go)).parent.parent
    return () if str(root).startswith("/usr/") else (str(root),)


LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language(
            name="python",
            aliases=("py", "python3", "py3", "python"),
            extensions=(".py",),
            source_name="main.py",
            run=("{python}", "-s", "-B", "{src}"),
        ),
        Language(
            name="javascript",
            aliases=("js", "node", "nodejs", "javascript", "mjs", "cjs"),
            extensions=(".js", ".mjs", ".cjs"),
            source_name="main.js",
            run=("node", "--max-old-space-size={mem}", "{src}"),
            executables=("node",),
            address_space_extra_mb=1536,
            min_processes=16,
            packages=("nodejs",),
        ),
        Language(
            name="bash",
            aliases=("sh", "shell", "bash", "console", "shellscript"),
            extensions=(".sh", ".bash"),
            source_name="main.sh",
            run=("bash", "{src}"),
            executables=("bash",),
            packages=("bash",),
        ),
        Language(
            name="c",
            aliases=("c", "h"),
            extensions=(".c",),
            source_name="main.c",
            compile=("gcc", "-O2", "-std=gnu17", "-pipe", "-o", "main", "{src}", "-lm"),
            run=("./main",),
            executables=("gcc",),
            min_processes=8,
            packages=("gcc",),
        ),
        Language(
            name="cpp",
            aliases=("cpp", "c++", "cxx", "cc", "hpp", "cplusplus"),
            extensions=(".cpp", ".cc", ".cxx", ".c++"),
            source_name="main.cpp",
            compile=("g++", "-O2", "-std=gnu++17", "-pipe", "-o", "main", "{src}", "-lm"),
            run=("./main",),
            executables=("g++",),
            min_processes=8,
            packages=("g++",),
        ),
        Language(
            name="java",
            aliases=("java",),
            extensions=(".java",),
            source_name="Main.java",
            compile=("javac", "-J-Xmx256m", "-J-XX:+UseSerialGC", "-encoding", "UTF-8", "{src}"),
            run=("java", "-Xmx{mem}m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "{main}"),
            executables=("javac", "java"),
            address_space_extra_mb=3072,
            min_processes=64,
            binds=_java_conf_dirs(),
            packages=("openjdk-17-jdk-headless",),
        ),
        Language(
            name="go",
            aliases=("go", "golang"),
            extensions=(".go",),
            source_name="main.go",
            compile=("go", "build", "-o", "main", "{src}"),
            run=("./main",),
            executables=("go",),
            address_space_extra_mb=2048,
            min_processes=64,
            env=(("GOCACHE", "/tmp/.gocache"), ("GOPATH", "/tmp/go"), ("GO111MODULE", "off")),
            binds=_go_root(),
            packages=("golang-go",),
        ),
        Language(
            name="php",
            aliases=("php",),
            extensions=(".php",),
            source_name="main.php",
            run=("php", "{src}"),
            executables=("php",),
            address_space_extra_mb=256,
            packages=("php-cli",),
            binds=_existing("/etc/php"),  # php.ini and conf.d (which extensions load)
        ),
        Language(
            name="csharp",
            aliases=("csharp", "cs", "c#"),
            extensions=(".cs",),
            source_name="main.cs",
            compile=("mcs", "-optimize+", "-out:main.exe", "{src}"),
            # the heap's limit makes allocation past it an OutOfMemoryException (at the
            # address-space limit alone, Mono's GC spins until the clock runs out)
            run=("env", "MONO_GC_PARAMS=max-heap-size={mem}m", "mono", "main.exe"),
            executables=("mcs", "mono"),
            address_space_extra_mb=1024,
            min_processes=32,
            binds=_existing("/etc/mono"),  # Mono's config (machine.config, the dll map)
            # a crashing Mono runs gdb for a backtrace (ptrace is denied: it only wastes time)
            env=(("MONO_DEBUG", "no-gdb-backtrace"),),
            packages=("mono-mcs", "mono-runtime"),
        ),
        Language(
            name="matlab",
            aliases=("matlab", "octave", "m"),
            extensions=(".m",),
            source_name="main.m",
            run=(
                "octave-cli",
                "--no-gui",
                "--no-window-system",
                "--norc",
                "--no-history",
                "--no-line-editing",
                "--quiet",
                "{src}",
            ),
            executables=("octave-cli",),
            address_space_extra_mb=2048,
            min_processes=32,
            prepare=matlab_script,
            env=(
                ("OCTAVE_HISTFILE", "/dev/null"),
                ("OPENBLAS_NUM_THREADS", "1"),
                ("OMP_NUM_THREADS", "1"),
            ),
            packages=("octave",),
        ),
        Language(
            name="typescript",
            aliases=("typescript", "ts"),
            extensions=(".ts", ".mts", ".cts"),
            source_name="main.ts",
            compile=(
                "tsc",
                "--target",
                "ES2022",
                "--module",
                "commonjs",
                "--pretty",
                "false",
                "--noEmitOnError",
                "--skipLibCheck",  # the standard library's declarations and ours: half the time
                NODE_DECLARATIONS_FILE,
                "{src}",
            ),
            run=("node", "--max-old-space-size={mem}", "main.js"),
            executables=("tsc", "node"),
            address_space_extra_mb=2048,
            min_processes=32,
            packages=("node-typescript", "nodejs"),
            support_files=((NODE_DECLARATIONS_FILE, NODE_DECLARATIONS),),
        ),
        Language(
            name="rust",
            aliases=("rust", "rs"),
            extensions=(".rs",),
            source_name="main.rs",
            compile=("rustc", "--edition", "2021", "-O", "-o", "main", "{src}"),
            run=("./main",),
            executables=("rustc",),
            address_space_extra_mb=2048,
            min_processes=64,
            packages=("rustc",),
        ),
        Language(
            name="ruby",
            aliases=("ruby", "rb"),
            extensions=(".rb",),
            source_name="main.rb",
            run=("ruby", "{src}"),
            executables=("ruby",),
            address_space_extra_mb=512,
            min_processes=8,
            packages=("ruby",),
        ),
    )
}

_ALIASES = {alias: lang.name for lang in LANGUAGES.values() for alias in (*lang.aliases, lang.name)}
_EXTENSIONS = {ext: lang.name for lang in LANGUAGES.values() for ext in lang.extensions}


def normalize_language(tag: str) -> str:
    """Map a code-fence tag or alias (``py``, ``c++``, ``golang`` ...) to a canonical name."""
    key = tag.strip().lower().lstrip(".")
    key = key.split()[0] if key else key
    if key in _ALIASES:
        return _ALIASES[key]
    raise UnsupportedLanguage(
        f"unknown language {tag!r}; known: {', '.join(sorted(LANGUAGES))}"
        " (aliases such as py, js, sh, c++, golang, cs, ts, rs, rb are accepted)"
    )


def language_for_path(path: str | os.PathLike[str]) -> str:
    """The canonical language of a source file, from its extension."""
    suffix = Path(path).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise UnsupportedLanguage(
        f"cannot tell the language of {str(path)!r} from its extension; pass --lang"
    )


def get_language(tag: str) -> Language:
    """The table entry for ``tag``; raises UnsupportedLanguage if its toolchain is missing."""
    lang = LANGUAGES[normalize_language(tag)]
    missing = lang.missing()
    if missing:
        fix = f"; install it: apt-get install {' '.join(lang.packages)}" if lang.packages else ""
        raise UnsupportedLanguage(
            f"{lang.name}: toolchain not installed (missing {', '.join(missing)} on the "
            f"sandbox's PATH {SANDBOX_PATH}){fix}"
        )
    return lang


_JAVA_PUBLIC_CLASS = re.compile(
    r"^\s*public\s+(?:(?:final|abstract|sealed|strictfp)\s+)*class\s+([A-Za-z_$][\w$]*)", re.M
)
_JAVA_CLASS = re.compile(r"^\s*(?:\w+\s+)*class\s+([A-Za-z_$][\w$]*)", re.M)


def source_file_name(lang: Language, program: str) -> tuple[str, str]:
    """(file name, Java main class) for ``program``; Java needs File == public class."""
    if lang.name != "java":
        return lang.source_name, ""
    match = _JAVA_PUBLIC_CLASS.search(program)
    if match is None:
        main_pos = program.find("static void main")
        classes = [m for m in _JAVA_CLASS.finditer(program) if m.start() < max(main_pos, 0)]
        cls = classes[-1].group(1) if classes else "Main"
        return f"{cls}.java", cls
    return f"{match.group(1)}.java", match.group(1)
