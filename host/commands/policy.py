"""`host catalog policy ...`: a merchant's store policy (shipping, returns, invoices...)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from host.commands.shell import load_settings, one_line_errors, out

policy_app = typer.Typer(
    help="The merchant's store policy: the only shipping, returns and other terms the host "
    "states for it.",
    no_args_is_help=True,
)


@policy_app.command("set")
@one_line_errors
def policy_set(
    file: Annotated[Path, typer.Argument(help="policy YAML (see products/demo/policy.yaml)")],
    merchant: Annotated[str, typer.Option(help="whose policy this is")],
) -> None:
    """Replace the merchant's policy with the file's; topics it leaves out are not promised."""
    from host.catalog.policy import load_policy, set_policy
    from host.db.migrate import migrated_engine

    policy = load_policy(file)
    set_policy(migrated_engine(load_settings().database_url), merchant, policy)
    topics = ", ".join(policy.answers) or "none"
    out.print(f"policy for {merchant}: {topics}", highlight=False)


@policy_app.command("show")
@one_line_errors
def policy_show(merchant: Annotated[str, typer.Option(help="whose policy")]) -> None:
    """The merchant's policy as stored, in the file's shape (empty: the host promises nothing)."""
    import yaml

    from host.catalog.policy import as_json, read_policy
    from host.db.migrate import migrated_engine

    policy = read_policy(migrated_engine(load_settings().database_url), merchant)
    typer.echo(yaml.safe_dump(as_json(policy), allow_unicode=True, sort_keys=False), nl=False)
