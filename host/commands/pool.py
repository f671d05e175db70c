"""`host pool ...`: the render pool, a Ray Serve deployment that draws the built-in host's
speech for the streams on a cluster (host/cluster/render_pool.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from host.commands.shell import load_settings, one_line_errors, out
from host.config import Settings
from host.errors import HostError

pool_app = typer.Typer(
    help="The render pool: a Serve deployment (on GPU boxes) that draws streams' speech.",
    no_args_is_help=True,
)

Cluster = Annotated[
    str | None,
    typer.Option("--cluster", help="the Ray cluster, ray://HOST:PORT; default RAY_ADDRESS"),
]


def _connect(cluster: str | None) -> Settings:
    from host.cluster.placement import connect

    settings = load_settings()
    if settings.render_pool is None:
        raise HostError("RENDER_POOL is not set: the name the render pool is deployed under")
    address = cluster or settings.ray_address
    if address is None:
        raise HostError("no cluster named: pass --cluster ray://HOST:PORT or set RAY_ADDRESS")
    connect(address, settings)
    return settings


@pool_app.command("deploy")
@one_line_errors
def pool_deploy(cluster: Cluster = None) -> None:
    """Start or resize the render pool RENDER_POOL (RENDER_POOL_REPLICAS, RENDER_POOL_GPUS)."""
    from host.cluster.render_pool import deploy

    settings = _connect(cluster)
    deploy(settings)
    n = settings.render_pool_replicas
    each = f"{settings.render_pool_gpus:g} GPU" if settings.render_pool_gpus else "1 CPU"
    out.print(
        f"render pool {settings.render_pool}: {n} replica{'s' * (n != 1)} ({each} each)",
        highlight=False,
    )


@pool_app.command("remove")
@one_line_errors
def pool_remove(cluster: Cluster = None) -> None:
    """Remove the render pool; streams drawing with it draw alone from their next chunk."""
    from host.cluster.render_pool import remove

    settings = _connect(cluster)
    remove(settings)
    out.print(f"render pool {settings.render_pool}: removed", highlight=False)
