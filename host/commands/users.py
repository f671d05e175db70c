"""`host user ...` and `host token ...`: accounts from the command line (host/accounts.py).

`host user add` is how the first admin is made: whoever can run commands on the server with
its database can already change anything, so the command line needs no sign-in. What these
commands change is recorded in the changes trail as `cli:<os user>`.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from host.commands.shell import console, load_settings, one_line_errors, out
from host.errors import HostError

if TYPE_CHECKING:
    from sqlalchemy import Engine

user_app = typer.Typer(help="Console and API users and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts and bridges.", no_args_is_help=True)


def _engine() -> Engine:
    from host.db.migrate import migrated_engine

    return migrated_engine(load_settings().database_url)


def _record(engine: Engine, action: str, target: str, detail: dict[str, Any] | None) -> None:
    from host.changes import record_change

    record_change(engine, f"cli:{getpass.getuser()}", action, target, detail)


PasswordEnv = Annotated[
    str | None,
    typer.Option(help="read the password from this environment variable (scripts)"),
]


def _password(variable: str | None) -> str:
    """The password from `variable`, or asked twice without echo."""
    if variable is None:
        answer: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return answer
    password = os.environ.get(variable)
    if not password:
        raise HostError(f"--password-env: {variable} is not set or empty")
    return password


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@user_app.command("add")
@one_line_errors
def user_add(
    name: Annotated[str, typer.Argument(help="sign-in name")],
    role: Annotated[str, typer.Option(help="admin, operator, merchant or marketer")],
    merchant: Annotated[
        list[str] | None,
        typer.Option(help="a merchant this merchant user keeps (repeat for several)"),
    ] = None,
    password_env: PasswordEnv = None,
) -> None:
    """Add a user; the password is asked twice (or read from --password-env)."""
    from host.accounts import create_user

    password = _password(password_env)
    engine = _engine()
    user = create_user(engine, name, role, password, merchant or ())
    detail = {"role": user.role, "merchants": list(user.merchants)}
    _record(engine, "user.add", f"users/{user.name}", detail)
    merchants = f" for {', '.join(user.merchants)}" if user.merchants else ""
    console.print(f"added {user.role} {user.name}{merchants}", highlight=False)


@user_app.command("passwd")
@one_line_errors
def user_passwd(
    name: Annotated[str, typer.Argument(help="whose password")],
    password_env: PasswordEnv = None,
) -> None:
    """Set a user's password (asked twice); their browsers are signed out, tokens stay."""
    from host.accounts import set_password

    password = _password(password_env)
    engine = _engine()
    set_password(engine, name, password)
    _record(engine, "user.password", f"users/{name}", None)
    console.print(f"new password for {name}; their browsers were signed out", highlight=False)


@user_app.command("list")
@one_line_errors
def user_list() -> None:
    """List the users with their roles and merchants."""
    from rich.table import Table

    from host.accounts import list_users

    table = Table("name", "role", "merchants", "created")
    for user in list_users(_engine()):
        table.add_row(user.name, user.role, ", ".join(user.merchants), _when(user.created_at))
    out.print(table)


@user_app.command("remove")
@one_line_errors
def user_remove(name: Annotated[str, typer.Argument(help="the user to remove")]) -> None:
    """Remove a user, their API tokens and their sessions (signed out at once)."""
    from host.accounts import remove_user

    engine = _engine()
    remove_user(engine, name)
    _record(engine, "user.remove", f"users/{name}", None)
    console.print(f"removed {name}", highlight=False)


@token_app.command("create")
@one_line_errors
def token_create(
    name: Annotated[str, typer.Argument(help="what the token is for, e.g. douyin-bridge")],
    user: Annotated[str, typer.Option(help="the user the token acts as")],
) -> None:
    """Make an API token and print it: the only time it is shown (only its hash is kept)."""
    from host.accounts import create_token

    engine = _engine()
    token = create_token(engine, name, user)
    _record(engine, "token.create", f"users/{user}/tokens/{name}", None)
    console.print(
        f"token {name} for {user} (shown once; send it as Authorization: Bearer ...):",
        highlight=False,
    )
    out.print(token, highlight=False, soft_wrap=True)


@token_app.command("list")
@one_line_errors
def token_list(
    user: Annotated[str | None, typer.Option(help="only this user's tokens")] = None,
) -> None:
    """List tokens by name, with their user and when they were last used (never the token)."""
    from rich.table import Table

    from host.accounts import list_tokens

    table = Table("name", "user", "created", "last used")
    for token in list_tokens(_engine(), user):
        table.add_row(token.name, token.user, _when(token.created_at), _when(token.last_used_at))
    out.print(table)


@token_app.command("revoke")
@one_line_errors
def token_revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Revoke a token: the next request made with it is refused."""
    from host.accounts import revoke_token

    engine = _engine()
    owner = revoke_token(engine, name)
    _record(engine, "token.revoke", f"users/{owner}/tokens/{name}", None)
    console.print(f"revoked {name}", highlight=False)
