"""Commands imported when they are used: ``codearena --help`` imports none of them.

Typer builds every command from its function's signature, so a command whose module is imported
pays for everything that module imports. :class:`LazyGroup` holds each top-level command as a
:class:`LazyCommand` (a name, the ``module:attribute`` that defines it and a one-line summary):
the command's module is imported the first time the command is run, completed or asked for its
own ``--help``. The group's own ``--help`` lists the commands by their summaries alone; a test
checks that each summary is the one the command itself gives.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import MarkupMode, TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


@dataclass(frozen=True)
class LazyCommand:
    """A command named ``name``, defined by ``target`` (``"package.module:attribute"``: a
    command function or a ``typer.Typer`` app), summarised in one line by ``help``.

    For a ``typer.Typer`` app, ``help`` is also the group's help (as ``add_typer(help=...)``
    sets it); a function's help is its docstring, whose first line ``help`` repeats."""

    name: str
    target: str
    help: str

    def load(self, markup_mode: MarkupMode) -> Command:
        """Import the defining module and build the command as Typer does for a mounted one."""
        module_name, _, attribute = self.target.partition(":")
        defined = getattr(importlib.import_module(module_name), attribute)
        holder = typer.Typer(add_completion=False, rich_markup_mode=markup_mode)
        if isinstance(defined, typer.Typer):
            holder.add_typer(defined, name=self.name, help=self.help)
            group = typer.main.get_command(holder)
            assert isinstance(group, TyperGroup)
            return group.commands[self.name]
        holder.command(self.name)(defined)
        return typer.main.get_command(holder)

    def summary(self, markup_mode: MarkupMode) -> Command:
        """A stand-in with only the name and ``help``, for listing the command."""
        return TyperCommand(self.name, help=self.help, rich_markup_mode=markup_mode)


class LazyCommands(MutableMapping[str, "Command"]):
    """A group's commands by name; a lazy one is loaded when it is looked up."""

    def __init__(
        self, eager: Mapping[str, Command], lazy: Sequence[LazyCommand], markup_mode: MarkupMode
    ) -> None:
        self._lazy = {c.name: c for c in lazy}
        self._loaded: dict[str, Command] = dict(eager)
        self._markup_mode = markup_mode

    def summary(self, name: str) -> Command | None:
        """The command if it is loaded, else a stand-in that lists it; None if there is none."""
        if name in self._loaded:
            return self._loaded[name]
        lazy = self._lazy.get(name)
        return None if lazy is None else lazy.summary(self._markup_mode)

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded and name in self._lazy:
            self._loaded[name] = self._lazy[name].load(self._markup_mode)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        found = self._lazy.pop(name, None) is not None
        found = self._loaded.pop(name, None) is not None or found
        if not found:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self._lazy
        yield from (name for name in self._loaded if name not in self._lazy)

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._loaded.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._lazy or name in self._loaded


class LazyGroup(TyperGroup):
    """A Typer group whose :attr:`lazy_commands` are imported only when used (set it in a
    subclass and pass that as ``typer.Typer(cls=...)``)."""

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.lazy_commands, self.rich_markup_mode)
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # the names alone: nothing is imported

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if self._listing and isinstance(self.commands, LazyCommands):
            return self.commands.summary(cmd_name)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The group's help, listing its commands by their summaries (nothing imported)."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
