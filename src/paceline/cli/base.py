"""The command line's building blocks on click: groups, commands, arguments, options, value types.

Start-up time: `paceline status` must start in well under 100 ms, so the command line is built on
click alone (Typer, which this CLI used before, coerces every value through pydantic at run time:
~60 ms per command with options). These classes keep what the Typer-built CLI showed and said,
so that help, usage errors and exit codes did not change with it:

- help is plain text with an `Arguments:` section (`FILE <path>  help  [required]`) and typed
  option values (`--interval <float>  ...  [default: 1.0]`); a required argument shows as
  `{FILE}` in the usage line, an optional one as `[FILE]`;
- usage errors read `No such option: --bogus (Possible options: --verbose)`, `No such command
  'x'. Did you mean 'y'?`, `Invalid value for '--limit' / '-n': Input should be a valid
  integer, ...` and exit 2; Ctrl-C ends a command with exit 130, without a message;
- subcommands are listed in the order they were added.
"""

from __future__ import annotations

import difflib
import errno
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.exceptions import Exit, NoSuchOption
from click.formatting import join_options

__all__ = [
    "FLOAT",
    "INT",
    "PATH",
    "STR",
    "Argument",
    "Command",
    "Exit",
    "Group",
    "Option",
    "ValueType",
    "argument",
    "flag",
    "option",
]

F = TypeVar("F", bound=Callable[..., Any])


# -- value types -------------------------------------------------------------------------------------
class ValueType(click.ParamType[Any]):
    """A value type shown as `<display>` in help (`<path>`, `<int>`, `<list[str]>` if repeated)."""

    def __init__(self, display: str, convert: Callable[[str], Any], message: str | None = None) -> None:
        self.name = display
        self.display = display
        self._convert = convert
        self._message = message

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default
        try:
            return self._convert(value)
        except ValueError:
            self.fail(self._message or f"{value!r} is not a valid {self.display}", param, ctx)


_INT_RE = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0*)?")


def _to_int(text: str) -> int:
    t = text.strip()
    if not _INT_RE.fullmatch(t):
        raise ValueError(text)
    return int(t.partition(".")[0])


def _to_float(text: str) -> float:
    t = text.strip()
    if not t.isascii() or t.lower().startswith(("0x", "-0x", "+0x")):
        raise ValueError(text)
    return float(t)


STR = ValueType("str", str)
PATH = ValueType("path", Path)
INT = ValueType("int", _to_int, "Input should be a valid integer, unable to parse string as an integer")
FLOAT = ValueType("float", _to_float, "Input should be a valid number, unable to parse string as a number")


def _display_type(param: click.Parameter) -> str:
    display = param.type.display if isinstance(param.type, ValueType) else param.type.name
    return f"<list[{display}]>" if param.multiple else f"<{display}>"


_UNSET = getattr(click.core, "UNSET", None)  # click >= 8.3: the default of a parameter given none


def _default_text(param: click.Parameter) -> str:
    """`default: ...` as shown in help: nothing for None, a False flag or an empty value."""
    default = param.default
    if param.required or default is None or default is _UNSET:
        return ""
    if getattr(param, "show_default", None) is False:
        return ""
    if isinstance(default, (list, tuple)):
        return ""
    if isinstance(param, click.Option) and param.is_bool_flag:
        if param.secondary_opts:
            opt = param.opts[0] if default else param.secondary_opts[0]
            return opt.lstrip("-/")
        if not default:
            return ""
    return str(default)


def _extra(param: click.Parameter, help_text: str) -> str:
    extra = []
    default = _default_text(param)
    if default:
        extra.append(f"default: {default}")
    if param.required:
        extra.append("required")
    if not extra:
        return help_text
    tail = f"[{'; '.join(extra)}]"
    return f"{help_text}  {tail}" if help_text else tail


# -- parameters ----------------------------------------------------------------------------------------
class Argument(click.Argument):
    """A positional parameter with a help line (`FILE <path>  help  [required]`)."""

    def __init__(
        self, param_decls: Sequence[str], *, help: str | None = None, show_default: bool = True, **attrs: Any
    ) -> None:
        super().__init__(param_decls, **attrs)
        self.help = help
        self.show_default = show_default

    @property
    def _display_name(self) -> str:
        return self.metavar if self.metavar is not None else self.name or ""

    def make_metavar(self, ctx: click.Context) -> str:
        name = self._display_name
        return f"{{{name}}}" if self.required else f"[{name}]"

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [self.make_metavar(ctx)]

    def get_error_hint(self, ctx: click.Context | None) -> str:
        return f"'{self._display_name}'"

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        return f"{self._display_name} {_display_type(self)}", _extra(self, self.help or "")


class Option(click.Option):
    """An option shown with its value's metavar or type (`--since <int>`) and its default."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self.hidden:
            return None
        value = "" if self.is_flag or self.count else f" {self.metavar or _display_type(self)}"
        names = [join_options(self.opts)[0] + value]
        if self.secondary_opts:
            names.append(join_options(self.secondary_opts)[0] + value)
        return " / ".join(names), _extra(self, self.help or "")


def argument(
    name: str,
    *,
    help: str,
    metavar: str | None = None,
    type: ValueType = STR,
    required: bool = True,
) -> Callable[[F], F]:
    """A positional parameter; not required ones default to None."""
    extra: dict[str, Any] = {} if required else {"default": None}
    return click.argument(
        name, cls=Argument, help=help, metavar=metavar, type=type, required=required, **extra
    )


def option(
    *decls: str,
    help: str,
    metavar: str | None = None,
    type: ValueType = STR,
    default: Any = None,
    multiple: bool = False,
    required: bool = False,
    show_default: bool = True,
) -> Callable[[F], F]:
    """An option that takes a value (repeatable with `multiple`: a list, empty if not given)."""
    extra: dict[str, Any] = {} if default is None else {"default": default}
    return click.option(
        *decls,
        cls=Option,
        help=help,
        metavar=metavar,
        type=type,
        multiple=multiple,
        required=required,
        show_default=show_default,
        callback=(lambda _c, _p, v: list(v)) if multiple else None,
        **extra,
    )


def flag(*decls: str, help: str, default: bool = False) -> Callable[[F], F]:
    """A boolean flag (`--json`), or a pair of them (`--restart-backoff/--no-restart-backoff`)."""
    return click.option(*decls, cls=Option, help=help, is_flag=True, default=default)


# -- commands and groups --------------------------------------------------------------------------------
def _format_params(cmd: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    args: list[tuple[str, str]] = []
    opts: list[tuple[str, str]] = []
    for param in cmd.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            (args if param.param_type_name == "argument" else opts).append(record)
    if args:
        with formatter.section("Arguments"):
            formatter.write_dl(args)
    if opts:
        with formatter.section("Options"):
            formatter.write_dl(opts)


_EXTRA_ARGS_RE = re.compile(r"^Got unexpected extra arguments? \(")


def _usage_message(e: click.ClickException) -> None:
    """The wording of the CLI's usage errors (as it was under Typer)."""
    e.message = _EXTRA_ARGS_RE.sub("Got unexpected extra argument(s) (", e.message)
    if isinstance(e, NoSuchOption):
        e.message = f"No such option: {e.option_name}"
        if e.possibilities:
            e.message += f" (Possible options: {', '.join(sorted(e.possibilities))})"
        e.possibilities = None


def run_main(
    cmd: click.Command,
    args: Sequence[str] | None,
    prog_name: str | None,
    complete_var: str | None,
    standalone: bool,
    **extra: Any,
) -> Any:
    """`click.Command.main`, except: Ctrl-C exits 130 quietly, usage errors are worded as above."""
    if args is None:
        args = sys.argv[1:]
    if prog_name is None:
        from click.utils import _detect_program_name

        prog_name = _detect_program_name()
    cmd._main_shell_completion(extra, prog_name, complete_var)
    try:
        try:
            with cmd.make_context(prog_name, list(args), **extra) as ctx:
                rv = cmd.invoke(ctx)
                if not standalone:
                    return rv
                ctx.exit()
        except EOFError as e:
            click.echo(file=sys.stderr)
            raise click.Abort() from e
        except KeyboardInterrupt as e:
            raise Exit(130) from e
        except click.ClickException as e:
            if not standalone:
                raise
            _usage_message(e)
            e.show()
            sys.exit(e.exit_code)
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise
            from click.utils import PacifyFlushWrapper

            sys.stdout = PacifyFlushWrapper(sys.stdout)
            sys.stderr = PacifyFlushWrapper(sys.stderr)
            sys.exit(1)
    except Exit as e:
        if standalone:
            sys.exit(e.exit_code)
        return e.exit_code
    except click.Abort:
        if not standalone:
            raise
        click.echo("Aborted!", file=sys.stderr)
        sys.exit(1)


class Command(click.Command):
    """A command whose help has `Arguments:` and `Options:` sections."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_params(self, ctx, formatter)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        return run_main(self, args, prog_name, complete_var, standalone_mode, **extra)


class Group(click.Group):
    """A group of commands, listed in the order they were added; a mistyped command name gets a
    suggestion (`Did you mean 'status'?`). Without arguments it shows its help (exit 2).

    `lazy` names commands by `module:attribute` (a module of this package), imported when the
    command is first looked up: running one command does not import the others' modules."""

    command_class = Command

    def __init__(
        self, name: str | None = None, *, lazy: Mapping[str, str] | None = None, **attrs: Any
    ) -> None:
        attrs.setdefault("no_args_is_help", True)
        super().__init__(name, **attrs)
        self.lazy: dict[str, str] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *(name for name in self.commands if name not in self.lazy)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            from importlib import import_module

            module, _, attr = self.lazy[cmd_name].partition(":")
            command = getattr(import_module(f"{__package__}.{module}"), attr)
            assert isinstance(command, click.Command)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        cmd = self.get_command(ctx, name)
        if cmd is None and not ctx.resilient_parsing:
            if name and not name[0].isalnum():  # an option where a command was expected: say so
                self.parse_args(ctx, args)
            message = f"No such command {name!r}."
            matches = difflib.get_close_matches(name, self.list_commands(ctx))
            if matches:
                message = f"{message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise click.UsageError(message, ctx)
        return name if cmd else None, cmd, args[1:]

    def group(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Group)
        return super().group(*args, **kwargs)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        return run_main(self, args, prog_name, complete_var, standalone_mode, **extra)
