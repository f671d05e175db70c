"""Apply the Alembic migrations from code, so `host db upgrade`, tests and the demo share one path.

Alembic is configured here rather than through an `alembic.ini`, so the repository's
`alembic/` folder is found wherever the process runs from.
"""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import Engine

from alembic import command
from host.config import REPO_ROOT
from host.db.engine import make_engine

SCRIPT_LOCATION = REPO_ROOT / "alembic"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`; running it again changes nothing."""
    engine = make_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def migrated_engine(url: str) -> Engine:
    """An engine on the database at `url`, brought to the newest schema first."""
    engine = make_engine(url)
    upgrade_engine(engine)
    return engine


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
