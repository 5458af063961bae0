"""The root Typer app: global options and command registration, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from leadcli import __version__
from leadcli.errors import LeadcliError, Notice


class LeadcliGroup(TyperGroup):
    """Translates expected errors into `error:` / `hint:` lines and an exit code, in one place."""

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        from leadcli import cli_errors

        with cli_errors.plain_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        from leadcli import cli_errors

        command = super().get_command(ctx, cmd_name)
        if command is not None:
            cli_errors.tidy_metavars(command)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from leadcli import cli_errors

        cli_errors.tidy_metavars(self)
        super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        from leadcli import cli_errors, output

        try:
            with cli_errors.plain_usage_errors(), _notices_as_warnings(output.warn):
                return super().invoke(ctx)
        except LeadcliError as exc:
            output.error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:
            code = cli_errors.output_failure(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None
        except OverflowError as exc:
            if "SQLite INTEGER" not in str(exc):
                raise
            # An id or a count beyond SQLite's 64-bit integers: a usage error, not a crash.
            output.error("a number given is too large", "ids and counts go up to 9223372036854775807")
            raise typer.Exit(2) from None


@contextmanager
def _notices_as_warnings(show: Callable[[str], None]) -> Iterator[None]:
    """Library notices (`errors.Notice`, e.g. an interrupted import rolled back) as `warning:` lines."""
    import warnings

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def showwarning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, Notice):
                show(str(message))
            else:
                shown(message, category, *args, **kwargs)

        warnings.simplefilter("always", Notice)
        warnings.showwarning = showwarning
        yield


def _new_app() -> typer.Typer:
    return typer.Typer(
        name="leadcli",
        cls=LeadcliGroup,
        help="leadcli: a command-line CRM for sales leads over one local SQLite file.\n\n"
             "Data goes to stdout (a table on a terminal, CSV in a pipe); messages go to stderr.",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        epilog="Docs: README.md. Exit codes: 0 ok, 1 error, 2 usage error, 130 interrupted.",
    )


class OutputFormat(str, Enum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leadcli {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="LEADCLI_DB", metavar="PATH",
        help="The database file [env LEADCLI_DB; default: leads.db in the user data dir].",
        show_default=False, show_envvar=False)] = None,
    format: Annotated[OutputFormat | None, typer.Option(
        "--format", "-f", envvar="LEADCLI_FORMAT", case_sensitive=False,
        help="Output format; auto = table on a terminal, CSV in a pipe [env LEADCLI_FORMAT].",
        show_default=False, show_envvar=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No messages on success (errors still shown).")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also: NO_COLOR env).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    no_hooks: Annotated[bool, typer.Option("--no-hooks", help="Run no hooks (also: LEADCLI_NO_HOOKS=1).")] = False,
) -> None:
    from leadcli import output
    from leadcli.store import Store

    ctx.obj = Store(db)
    # Beside the Store, on the context: commands build their hooks.Batch from both.
    ctx.meta["leadcli.no_hooks"] = no_hooks
    output.configure(format.value if format else None, quiet, no_color)


def _option_names(fn: Any, hints: dict[str, Any]) -> set[str]:
    from typer.models import OptionInfo

    names: set[str] = set()
    for hint in hints.values():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, OptionInfo):
                # In Annotated form typer takes a first argument like "--format" as a name, not a default.
                decls = [*(meta.param_decls or ()), *([meta.default] if isinstance(meta.default, str) else [])]
                names.update(d for decl in decls if decl.startswith("-") for d in decl.split("/"))
    return names


def _with_trailing_globals(fn: Any) -> Any:
    """`fn` taking `--format` and `--quiet` after the command too (`leadcli report conversion --format json`).

    They are global options, written before the command; after it they mean the same, on every
    command without an option of that name of its own (`export --format` keeps its meaning). The command
    also runs again when a PostgreSQL server cancelled its transaction (`store.retry_conflicts`).
    """
    import functools
    import inspect
    from typing import get_type_hints

    if getattr(fn, "_leadcli_trailing", False):
        return fn
    hints = get_type_hints(fn, include_extras=True)
    taken = _option_names(fn, hints)
    extra: dict[str, tuple[Any, Any]] = {}
    if "--format" not in taken:
        decls = ["--format"] + (["-f"] if "-f" not in taken else [])
        extra["leadcli_late_format"] = (Annotated[OutputFormat | None, typer.Option(
            *decls, case_sensitive=False, show_default=False,
            help="Output format, as the global --format before the command.")], None)
    if "--quiet" not in taken:
        decls = ["--quiet"] + (["-q"] if "-q" not in taken else [])
        extra["leadcli_late_quiet"] = (Annotated[bool, typer.Option(
            *decls, help="No messages on success, as the global --quiet.")], False)

    @functools.wraps(fn)
    def command(*args: Any, leadcli_late_format: Any = None, leadcli_late_quiet: bool = False, **kwargs: Any) -> Any:
        from leadcli import output
        from leadcli.store import retry_conflicts

        if leadcli_late_format is not None:
            output.settings.format = leadcli_late_format.value
        if leadcli_late_quiet:
            output.settings.quiet = True
        # A transaction the database server cancelled (a conflict with another writer) runs again.
        return retry_conflicts(fn, *args, **kwargs)

    signature = inspect.signature(fn)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
               for name, (hint, default) in extra.items()]
    command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {**hints, **{name: hint for name, (hint, _) in extra.items()}}
    command._leadcli_trailing = True  # type: ignore[attr-defined]
    return command


def _add_trailing_globals(app: typer.Typer) -> None:
    """The same for every command of a group and of its subgroups (once per app object)."""
    if getattr(app, "_leadcli_trailing", False):
        return
    app._leadcli_trailing = True  # type: ignore[attr-defined]
    for info in app.registered_commands:
        info.callback = _with_trailing_globals(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _add_trailing_globals(group.typer_instance)


# Every command: (name, module in leadcli.commands, attribute, summary). The attribute is a function
# for a command and a Typer app for a group; the summary is its help's first line (a test keeps them
# equal). Kept as data so a process builds only the command it runs, and the root --help lists
# them all without importing any command module.
COMMANDS: list[tuple[str, str, str, str]] = [
    ('add', 'add', 'add',
     'Add a lead and print its id.'),
    ('list', 'list_', 'list_leads',
     'List leads, newest first, with filters.'),
    ('show', 'show', 'show',
     'Show one lead as a card: its fields, custom fields, tags and status history.'),
    ('edit', 'edit', 'edit',
     "Change a lead's fields, tags, custom fields or status."),
    ('archive', 'archive', 'archive',
     'Archive leads: they leave lists but stay in reports.'),
    ('restore', 'archive', 'restore',
     'Bring archived leads back into lists.'),
    ('contact', 'stages', 'contact',
     'Mark leads as contacted (new -> contacted), by id or by the filters of list.'),
    ('qualify', 'stages', 'qualify',
     'Mark leads as qualified: real interest, ready to convert.'),
    ('disqualify', 'stages', 'disqualify',
     'Drop leads with a reason (no budget, no need, no authority, bad timing, competitor, unresponsive, spam,'),
    ('reopen', 'stages', 'reopen',
     'Reopen disqualified leads at the stage they left (a converted lead comes back through `deals to-lead`).'),
    ('convert', 'convert', 'convert',
     'Convert leads into a contact, a company and an open deal (any combination), by id or by filters.'),
    ('deals', 'deals', 'app',
     'Deals created by `convert`: list, show, won, lost, reopen, to-lead.'),
    ('contacts', 'contacts', 'contacts_app',
     'Contacts: the people converted leads became.'),
    ('companies', 'contacts', 'companies_app',
     'Companies: the organisations converted leads became.'),
    ('db', 'db', 'app',
     'The database file: its path, schema migrations, checks and backups.'),
    ('report', 'report', 'app',
     'Conversion reports: rates by source, owner or period, the funnel, time to convert, lost reasons, cost per lead.'),
    ('score', 'score', 'app',
     'Predictive lead scoring: train on converted and disqualified leads, score the open ones 0-100 '
     'with grades A-D, and explain each score.'),
    ('import', 'import_', 'app',
     "Import a CRM's CSV export (Salesforce, HubSpot, Pipedrive, Zoho, Bitrix24, a spreadsheet)."),
    ('export', 'export', 'export',
     'Export leads (the filters of list) as CSV, JSON or JSON Lines; `leadcli import` reads it back.'),
    ('view', 'view', 'app',
     'Saved views: name the filters of list once, then use them as @NAME.'),
    ('route', 'route', 'app',
     'Routing: rules that give new leads an owner; owners away are skipped.'),
    ('duplicates', 'duplicates', 'app',
     'Find leads that are probably the same person (merge them with `leadcli merge`).'),
    ('intake', 'intake', 'intake',
     'Take leads from web forms and other tools: JSON or JSON Lines on stdin.'),
    ('merge', 'merge', 'merge',
     'Merge duplicate leads into one; prints the merge id (`leadcli merge undo MERGE_ID` reverses it).'),
]
_GLOBAL_OPTIONS_WITH_VALUE = {"--db", "--format", "-f"}


def _target(entry: tuple[str, str, str, str]) -> Any:
    from importlib import import_module

    return getattr(import_module(f"leadcli.commands.{entry[1]}"), entry[2])


def _summary(target: Any) -> str:
    if isinstance(target, typer.Typer):
        text = target.info.help or ""
    else:
        text = target.__doc__ or ""
    return text.strip().split("\n")[0]


def build(only: str | None = None, *, stubs: bool = False) -> typer.Typer:
    """The root app with every command, or with just `only` (what one process runs).

    With `stubs`, commands are registered by name and summary alone: enough for the root
    `--help` listing, without building each command's options.
    """
    application = _new_app()
    application.callback()(root)
    for entry in COMMANDS:
        name = entry[0]
        if only is not None and name != only:
            continue
        if stubs:
            application.command(name, help=entry[3], add_help_option=False)(_stub)
            continue
        target = _target(entry)
        if isinstance(target, typer.Typer):
            _add_trailing_globals(target)
            application.add_typer(target, name=name)
        else:
            application.command(name)(_with_trailing_globals(target))
    return application


def _stub() -> None:  # pragma: no cover - only listed by the root --help, never invoked
    raise typer.Exit(2)


def _command_in(argv: list[str]) -> str | None:
    """The command named in argv (skipping global options and their values), if any."""
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif token == "--":
            return None
        elif not token.startswith("-"):
            return token
    return None


_full_app: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    # `from leadcli.cli import app` (tests, embedding) gets the whole command tree.
    global _full_app
    if name == "app":
        if _full_app is None:
            _full_app = build()
        return _full_app
    raise AttributeError(name)


def main() -> None:
    import sys

    argv = sys.argv[1:]
    _refuse_undecodable(argv)
    name = _command_in(argv)
    known = {entry[0] for entry in COMMANDS}
    if name in known:
        application = build(only=name)
    elif name is None and not any(t in ("--install-completion", "--show-completion") for t in argv) \
            and "_LEADCLI_COMPLETE" not in __import__("os").environ:
        application = build(stubs=True)
    else:
        application = build()
    _run(application)


def _refuse_undecodable(argv: list[str]) -> None:
    """An argument that is not valid text in the locale (raw bytes) is a usage error, not a crash later."""
    import sys

    from leadcli import output

    for token in argv:
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            shown = token.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            output.error(f"an argument is not valid UTF-8 text: {shown!r}", "write it in UTF-8")
            sys.exit(2)


def _run(application: typer.Typer) -> None:
    """Run the app; a stdout that fails at the last flush (a full disk, a closed pipe) is an `error:` line."""
    import sys

    from leadcli import cli_errors

    code: Any = 0
    try:
        application(prog_name="leadcli")
    except SystemExit as exc:
        code = exc.code
    try:
        sys.stdout.flush()
    except OSError as exc:
        failed = cli_errors.output_failure(exc)
        if failed is None:
            raise
        code = code or failed
    sys.exit(code)


# The salesperson's day: activities on leads and the agenda.
COMMANDS += [
    ('log', 'activity', 'log',
     "Record a call, e-mail, meeting, note or task done with a lead; prints the activity's id."),
    ('next', 'activity', 'next_action',
     "Plan a lead's next action, due at WHEN; prints the new activity's id."),
    ('done', 'activity', 'done',
     "Mark a planned activity done and optionally plan the next one; prints the new one's id."),
    ('today', 'today', 'today',
     "The day's agenda: overdue, due today, coming up, then open leads with no next action."),
    ('agenda', 'today', 'today',
     "The day's agenda: overdue, due today, coming up, then open leads with no next action."),
]
