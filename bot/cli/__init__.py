"""The `aigaq` command: run the bot, migrate the database, make keys.

Every command lives in the module of the people who run it; this table is the one place that
names them. `server` and `team` run beside the bot and never import `bot.reviewing`; `keys`,
`review` and `export` open a reviewer's private key on her own machine.
"""

from __future__ import annotations

import typer

from bot.cli import catalog, export, keys, requests, review, roster, server, team, trial

app = typer.Typer(help="Aigaq: sealed testimony over Telegram.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Reviewer keys and the server key.", no_args_is_help=True)
roles_app = typer.Typer(help="Reviewer and admin roles.", no_args_is_help=True)
review_app = typer.Typer(
    help="Read and decide cases, on the reviewer's machine.", no_args_is_help=True
)
export_app = typer.Typer(
    help="Export cases for partners, or check a bundle.", invoke_without_command=True
)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
roster_app = typer.Typer(
    help="The team roster: who the bot seals to, signed on an admin's laptop.",
    no_args_is_help=True,
)

app.command("run")(server.run_bot)
app.command()(team.broadcast)
app.command()(team.withdraw)
app.command()(server.doctor)
app.command("try")(trial.try_command)
app.command("backup")(server.backup_command)
app.command("restore")(keys.restore_command)
app.command("apply")(requests.apply_command)

db_app.command("upgrade")(server.db_upgrade)
db_app.command("current")(server.db_current)
db_app.command("grant-reviewer")(requests.db_grant_reviewer)

keys_app.command("generate")(keys.keys_generate)
keys_app.command("server")(server.keys_server)
keys_app.command("inbox")(server.keys_inbox)
keys_app.command("intake")(server.keys_intake)
keys_app.command("backup")(server.keys_backup)
keys_app.command("list")(keys.keys_list)
keys_app.command("rewrap")(keys.keys_rewrap)
keys_app.command("revoke")(keys.keys_revoke)
roster_app.command("key")(roster.roster_key)
roster_app.command("sign")(roster.roster_sign)
roster_app.command("show")(roster.roster_show)
keys_app.add_typer(roster_app, name="roster")

roles_app.command("grant")(team.roles_grant)
roles_app.command("revoke")(team.roles_revoke)
roles_app.command("list")(team.roles_list)

review_app.command("list")(review.review_list)
review_app.command("show")(review.review_show)
review_app.command("set")(review.review_set)
review_app.command("serve")(review.review_serve)
review_app.command("ask")(review.review_ask)
review_app.command("ask-missing")(review.review_ask_missing)
review_app.command("confirm")(review.review_confirm)
review_app.command("assign")(review.review_assign)
review_app.command("duplicates")(review.review_duplicates)
review_app.command("link")(review.review_link)

export_app.callback()(export.export_cases)
export_app.command("verify")(export.export_verify)

audit_app.command("verify")(team.audit_verify)

catalog_app = typer.Typer(help="The message catalogs, for translators.", no_args_is_help=True)
catalog_app.command("review")(catalog.catalog_review)
app.add_typer(catalog_app, name="catalog")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(roles_app, name="roles")
app.add_typer(review_app, name="review")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")


def main() -> None:
    """Entry point of the console script."""
    app()
