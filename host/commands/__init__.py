"""Sub-commands of `host`, one module per area, each a Typer app registered in `host.cli`."""
