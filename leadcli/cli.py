"""The root Typer app: global options and command registration, nothing else."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from leadcli import __version__
from leadcli.errors import LeadcliError


class LeadcliGroup(TyperGroup):
    """Translates expected errors into `error:` / `hint:` lines and an exit code, in one place."""

    def invoke(self, ctx: Any) -> Any:
        from leadcli import output

        try:
            return super().invoke(ctx)
        except LeadcliError as exc:
            output.error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None


class OutputFormat(str, Enum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"


app = typer.Typer(
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leadcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[Optional[str], typer.Option(
        "--db", envvar="LEADCLI_DB", metavar="PATH",
        help="The database file [env LEADCLI_DB; default: leads.db in the user data dir].",
        show_default=False)] = None,
    format: Annotated[Optional[OutputFormat], typer.Option(
        "--format", "-f", envvar="LEADCLI_FORMAT", case_sensitive=False,
        help="Output format; auto = table on a terminal, CSV in a pipe [env LEADCLI_FORMAT].",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No messages on success (errors still shown).")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also: NO_COLOR env).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    from leadcli import db as db_module
    from leadcli import output

    db_module.configure(db)
    output.configure(format.value if format else None, quiet, no_color)


def _register() -> None:
    from leadcli.commands import add, archive, edit, list_, show
    from leadcli.commands import db as db_cmd
    from leadcli.commands import report
    from leadcli.commands import score
    from leadcli.commands import export, import_
    from leadcli.commands import contacts, convert, deals, stages

    app.command("add")(add.add)
    app.command("list")(list_.list_leads)
    app.command("show")(show.show)
    app.command("edit")(edit.edit)
    app.command("archive")(archive.archive)
    app.command("restore")(archive.restore)
    app.command("contact")(stages.contact)
    app.command("qualify")(stages.qualify)
    app.command("disqualify")(stages.disqualify)
    app.command("reopen")(stages.reopen)
    app.command("convert")(convert.convert)
    app.add_typer(deals.app, name="deals")
    app.add_typer(contacts.contacts_app, name="contacts")
    app.add_typer(contacts.companies_app, name="companies")
    app.add_typer(db_cmd.app, name="db")
    app.add_typer(report.app, name="report")
    app.add_typer(score.app, name="score")
    app.add_typer(import_.app, name="import")
    app.command("export")(export.export)


_register()


def main() -> None:
    app(prog_name="leadcli")
