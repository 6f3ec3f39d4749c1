"""The language table: aliases, file names, compile and run commands, runtime needs."""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .types import UnsupportedLanguage


@dataclass(frozen=True)
class Language:
    """How to build and run one language inside a sandbox.

    ``compile`` and ``run`` are argv templates; placeholders: ``{src}`` (source file name),
    ``{main}`` (Java class name), ``{mem}`` (memory limit in MiB), ``{python}`` (interpreter).
    ``address_space_extra_mb`` is added to ``Limits.memory_mb`` for RLIMIT_AS: runtimes such as
    the JVM and V8 reserve far more virtual memory than they use.
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

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    def available(self) -> bool:
        return all(shutil.which(exe) for exe in self.executables)


def python_executable() -> str:
    """The base interpreter (not a venv shim) whose prefix the sandbox binds read-only."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / f"python{version}"
    if candidate.exists():
        return str(candidate)
    return os.path.realpath(sys.executable)


def _java_conf_dirs() -> tuple[str, ...]:
    return tuple(sorted(glob.glob("/etc/java-*")))


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
        ),
        Language(
            name="bash",
            aliases=("sh", "shell", "bash", "console", "shellscript"),
            extensions=(".sh", ".bash"),
            source_name="main.sh",
            run=("bash", "{src}"),
            executables=("bash",),
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
        " (aliases such as py, js, sh, c++, golang are accepted)"
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
    if not lang.available():
        missing = [exe for exe in lang.executables if shutil.which(exe) is None]
        raise UnsupportedLanguage(
            f"{lang.name}: toolchain not installed (missing {', '.join(missing)} on PATH)"
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
