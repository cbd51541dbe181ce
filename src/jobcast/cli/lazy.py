"""The typer application: command groups that import a command's module only when it is used."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["LazyGroup", "build_app", "load_command"]


def load_command(name: str, target: str) -> Any:
    """Build the click command ``name`` from ``target``, ``"module:function"`` in ``jobcast.cli``.

    Help texts are printed as written (``rich_markup_mode=None``): rich markup would
    swallow square brackets such as ``jobcast[spark]``.
    """
    module, _, attr = target.partition(":")
    function = getattr(importlib.import_module(f"jobcast.cli.{module}"), attr)
    single = typer.Typer(rich_markup_mode=None, add_completion=False)
    single.command(name)(function)
    return typer.main.get_command(single)


class _LazyCommands(MutableMapping[str, Any]):
    """The subcommands of one group, built from the registration table on first access."""

    def __init__(
        self,
        path: tuple[str, ...],
        table: Sequence[tuple[str, str]],
        groups: Mapping[str, str],
    ) -> None:
        self._path = path
        self._table = table
        self._groups = groups
        self._loaded: dict[str, Any] = {}
        self._names: list[str] = []
        for name, _ in table:
            words = name.split()
            if words[: len(path)] == list(path) and len(words) > len(path):
                word = words[len(path)]
                if word not in self._names:
                    self._names.append(word)

    def __getitem__(self, word: str) -> Any:
        if word in self._loaded:
            return self._loaded[word]
        if word not in self._names:
            raise KeyError(word)
        full = (*self._path, word)
        target = dict(self._table).get(" ".join(full))
        if target is not None:
            command = load_command(word, target)
        else:
            command = LazyGroup(
                name=word,
                path=full,
                table=self._table,
                groups=self._groups,
                help=self._groups.get(" ".join(full)),
                no_args_is_help=True,
                rich_markup_mode=None,
            )
        self._loaded[word] = command
        return command

    def __setitem__(self, word: str, command: Any) -> None:
        self._loaded[word] = command
        if word not in self._names:
            self._names.append(word)

    def __delitem__(self, word: str) -> None:
        self._loaded.pop(word, None)
        self._names.remove(word)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, word: object) -> bool:
        return word in self._names

    def keys(self) -> Any:
        """The command names, without importing any command's module."""
        return list(self._names)


class LazyGroup(TyperGroup):
    """A typer group whose commands come from a table of ``(name, "module:function")``.

    Parameters
    ----------
    path
        The words of this group's name below the root (empty for the root).
    table
        The registrations: ``"GROUP NAME"`` for a subcommand.
    groups
        Help text of every group, by its name.
    **kwargs
        Passed to :class:`typer.core.TyperGroup`.
    """

    table: Sequence[tuple[str, str]] = ()
    groups: Mapping[str, str] = {}

    def __init__(
        self,
        *,
        path: tuple[str, ...] = (),
        table: Sequence[tuple[str, str]] | None = None,
        groups: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        own = dict(self.commands)
        self.commands = _LazyCommands(
            path,
            self.table if table is None else table,
            self.groups if groups is None else groups,
        )
        for word, command in own.items():
            self.commands[word] = command


def _help_width() -> dict[str, int]:
    # outside a terminal (pipes, CI logs) help lines are not cut at 80 columns
    try:
        terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return {} if terminal else {"terminal_width": 10_000, "max_content_width": 10_000}


def _version(value: bool) -> None:
    if value:
        from jobcast import __version__

        typer.echo(f"jobcast {__version__}")
        raise typer.Exit()


def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def build_app(table: Sequence[tuple[str, str]], groups: Mapping[str, str], *, help: str) -> Any:
    """The root ``typer.Typer`` of the registrations ``table`` and the group ``groups``' help."""

    class Root(LazyGroup):
        pass

    Root.table = table
    Root.groups = groups
    app = typer.Typer(
        name="jobcast",
        cls=Root,
        context_settings=_help_width(),
        help=help,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    return app
