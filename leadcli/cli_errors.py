"""What a script sees when an option is wrong or output cannot be written: `error:` / `hint:` lines.

Click (through Typer) finds some bad values, leadcli's own parsing finds others; both end the same
way: `error: --limit: 'abc' is not a whole number`, a `hint:` line, exit code 2, with no Python or
pydantic wording. Help shows plain metavars (`TEXT`, `N`) rather than Python types.
"""

from __future__ import annotations

import errno
import math
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from typer import _click as click
from typer._click import exceptions as click_errors

from leadcli.errors import EXIT_USAGE, InvalidValue


class PlainUsageError(click_errors.UsageError):
    """A usage error shown as `error:` / `hint:` lines (Click's own shows a usage banner)."""

    def __init__(self, message: str, hint: str | None, ctx: click.Context | None = None) -> None:
        super().__init__(message, ctx)
        self.hint = hint

    def show(self, file: Any = None) -> None:
        from leadcli import output

        output.error(self.message, self.hint)


def _help_hint(ctx: click.Context | None) -> str:
    path = ctx.command_path if ctx is not None else "leadcli"
    return f"see `{path} --help`"


def _param_label(exc: click_errors.BadParameter) -> str:
    param = exc.param
    if param is None:
        return exc.param_hint if isinstance(exc.param_hint, str) else "value"
    opts = getattr(param, "opts", None)
    if opts and getattr(param, "param_type_name", "") == "option":
        return str(max(opts, key=len))
    return (param.name or "value").upper()


_PYDANTIC_REASONS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "int_parsing_size": "is too large",
    "float_parsing": "is not a number",
    "finite_number": "is not a finite number",
    "bool_parsing": "is not yes/no (use true or false)",
}


def _reason(exc: click_errors.BadParameter) -> str:
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except (IndexError, TypeError):
            first = None
        if first:
            value = first.get("input")
            kind = first.get("type", "")
            shown = repr(value) if isinstance(value, str) else str(value)
            if kind in _PYDANTIC_REASONS:
                return f"{shown} {_PYDANTIC_REASONS[kind]}"
            bounds = first.get("ctx") or {}
            for key, words in (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than")):
                if key in bounds:
                    return f"{shown} is out of range: must be {words} {bounds[key]}"
            text = _plain(str(first.get("msg", "")))
            return text if shown in text else f"{shown}: {text}"
    return _plain(exc.message)


def _plain(text: str) -> str:
    text = re.sub(r"^(Value error|Assertion failed), ", "", text)
    return text.replace("Input should be", "should be").rstrip(".")


def _translate(exc: click_errors.UsageError) -> PlainUsageError:
    ctx = exc.ctx
    if isinstance(exc, click_errors.MissingParameter):
        kind = getattr(exc.param, "param_type_name", None) or exc.param_type or "parameter"
        return PlainUsageError(f"missing {kind} {_param_label(exc)}", _help_hint(ctx), ctx)
    if isinstance(exc, click_errors.BadParameter):
        message = f"{_param_label(exc)}: {_reason(exc)}"
        return PlainUsageError(message, _help_hint(ctx), ctx)
    return PlainUsageError(_plain(exc.message), _help_hint(ctx), ctx)


@contextmanager
def plain_usage_errors() -> Iterator[None]:
    """Click's usage errors, re-raised as `PlainUsageError` (exit 2, `error:`/`hint:` lines)."""
    try:
        yield
    except PlainUsageError:
        raise
    except click_errors.UsageError as exc:
        raise _translate(exc) from None


# ---------------------------------------------------------------- commands made plain

_METAVARS = {"str": "TEXT", "int": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER",
             "path": "PATH", "text": "TEXT", "integer": "N"}


def plain_metavar(metavar: str | None) -> str | None:
    """`<list[str]>` -> `TEXT`, `<int range>` -> `N`, `<a|b>` -> `[a|b]`; others unchanged."""
    if not metavar:
        return metavar
    inner = metavar.strip("<>")
    many = inner.startswith("list[") and inner.endswith("]")
    if many:
        inner = inner[5:-1]
    if inner.lower() in _METAVARS:
        return _METAVARS[inner.lower()]
    if "|" in inner:
        return f"[{inner.strip('[]')}]"
    return inner.upper() if metavar.startswith("<") else metavar


def tidy_metavars(command: click.Command) -> None:
    """Plain metavars, finite numbers and option-value errors as usage errors, for `command` and below."""
    if getattr(command, "_leadcli_tidy", False):
        return
    command._leadcli_tidy = True  # type: ignore[attr-defined]
    _name_command_in_parse_errors(command)
    for param in command.params:
        _tidy_param(param)
    if isinstance(getattr(command, "commands", None), dict):
        for sub in command.commands.values():  # type: ignore[attr-defined]
            tidy_metavars(sub)
    else:
        _usage_exit_for_options(command)


def _name_command_in_parse_errors(command: click.Command) -> None:
    """Click's parser raises without a context (`Option '--reason' requires an argument`): give it the
    command's, so the hint names `leadcli disqualify --help`, not the root's help."""
    original = command.parse_args

    def parse_args(ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return original(ctx, args)
        except click_errors.UsageError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise

    command.parse_args = parse_args  # type: ignore[method-assign]


def _tidy_param(param: click.Parameter) -> None:
    if getattr(param, "param_type_name", "") == "argument" and param.metavar is None and param.name:
        # `LEAD_ID` in usage and help, not `{lead_id}` and `lead_id <int>`.
        param.metavar = param.name.upper()
        usage = param._usage_display_name  # type: ignore[attr-defined]
        param._usage_display_name = lambda: usage().replace("{", "").replace("}", "")  # type: ignore[attr-defined]
    if getattr(param, "param_type_name", "") == "argument":
        # An argument's help names what it is (`LEAD_ID`, `@VIEW`), never the Python type behind it.
        param.display_type_rich = lambda ctx: None  # type: ignore[attr-defined]
    shown = getattr(param, "display_type", None)
    if shown is not None and getattr(param, "metavar", None) is None:
        def display_type(ctx: click.Context) -> str | None:
            return plain_metavar(shown(ctx))

        param.display_type = display_type  # type: ignore[attr-defined]
    process = param.process_value

    def process_value(ctx: click.Context, value: Any) -> Any:
        result = process(ctx, value)
        for item in result if isinstance(result, (list, tuple)) else (result,):
            if isinstance(item, float) and not math.isfinite(item):
                raise click_errors.BadParameter(f"{value!r} is not a finite number", ctx=ctx, param=param)  # type: ignore[arg-type]
        return result

    param.process_value = process_value  # type: ignore[method-assign]


def _usage_exit_for_options(command: click.Command) -> None:
    """An `InvalidValue` naming one of the command's own options is a usage error (exit 2)."""
    names: set[str] = set()
    names_with_dashes: set[str] = set()
    for param in command.params:
        names.add((param.name or "").replace("_", "-"))
        names.update(opt.lstrip("-") for opt in getattr(param, "opts", ()))
        names_with_dashes.update(getattr(param, "opts", ()))
    original = command.invoke

    def invoke(ctx: click.Context) -> Any:
        try:
            return original(ctx)
        except InvalidValue as exc:
            option = exc.field.replace("_", "-")
            if "exit_code" not in vars(exc) and option in names:
                exc.exit_code = EXIT_USAGE
                if f"--{option}" in names_with_dashes:
                    exc.message = f"--{option}: {exc.reason}"
            raise

    command.invoke = invoke  # type: ignore[method-assign]


# ---------------------------------------------------------------- output that cannot be written

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


def output_failure(exc: OSError) -> int | None:
    """The exit code for a write that failed on stdout or a target file, after saying why; None: not ours."""
    from leadcli import output

    if exc.errno == errno.EPIPE or isinstance(exc, BrokenPipeError):
        # The reader stopped early (`leadcli list | head`): what it read was all it wanted.
        silence_stdout()
        return 0
    if exc.errno in _FULL:
        silence_stdout()
        where = f" {exc.filename}" if exc.filename else ""
        output.error(f"cannot write{where}: {os.strerror(exc.errno or 0).lower()}",
                     "free some space (or write elsewhere) and run the command again")
        return 1
    return None


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
