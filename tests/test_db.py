"""The schema: migrations match the models on both backends, and the engine is set up right."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host.db.engine import make_engine, make_sessionmaker
from host.db.migrate import alembic_config, upgrade
from host.db.models import (
    Base,
    CommentRecord,
    Merchant,
    Product,
    ReplyRecord,
    StreamSession,
)


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_twice_changes_nothing(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        before = sorted(inspect(engine).get_table_names())
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        upgrade(db_url)
        assert sorted(inspect(engine).get_table_names()) == before
        assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert set(before) >= {t.name for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_upgrade_creates_the_sqlite_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "livehost.db"
    upgrade(f"sqlite:///{path}")
    assert path.is_file()


def test_sqlite_engine_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(
            CommentRecord(
                session_id=999,
                platform="file",
                message_id="1",
                user_id="u",
                user_name="U",
                text="hi",
                received_at=0.0,
            )
        )
    engine.dispose()


def test_money_and_json_round_trip(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        merchant = Merchant(name="m")
        session.add(merchant)
        session.flush()
        session.add(
            Product(
                merchant_id=merchant.id,
                sku="A",
                name="羽绒服",
                price=Decimal("1299.99"),
                currency="CNY",
                aliases=["puffer", "羽绒"],
                attributes={"size": "S/M"},
            )
        )
        stream = StreamSession(name="test", settings={"fps": 25}, checkpoint={"current": "A"})
        session.add(stream)
        session.flush()
        comment = CommentRecord(
            session_id=stream.id,
            platform="file",
            message_id="m1",
            user_id="u1",
            user_name="Lily",
            text="多少钱",
            received_at=1.5,
            decision="queued",
            priority=2.0,
        )
        session.add(comment)
        session.flush()
        session.add(
            ReplyRecord(
                session_id=stream.id,
                comment_id=comment.id,
                text="1299.99元",
                language="zh",
                intent="price",
                skus=["A"],
                backend="catalog",
                stamps={"received": 1.5, "first_audio": 2.1},
            )
        )
    with sessions() as session:
        product = session.scalars(select(Product)).one()
        assert product.price == Decimal("1299.99") and isinstance(product.price, Decimal)
        assert product.aliases == ["puffer", "羽绒"]
        assert product.attributes == {"size": "S/M"}
        assert product.active is True
        reply = session.scalars(select(ReplyRecord)).one()
        assert reply.stamps == {"received": 1.5, "first_audio": 2.1}
        assert reply.guard_ok is True and reply.violations == []


def test_sku_is_unique_per_merchant_only(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        a, b = Merchant(name="a"), Merchant(name="b")
        session.add_all([a, b])
        session.flush()
        for merchant in (a, b):
            session.add(
                Product(
                    merchant_id=merchant.id, sku="X", name="x", price=Decimal(1), currency="CNY"
                )
            )
        a_id = a.id
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(
            Product(merchant_id=a_id, sku="X", name="again", price=Decimal(1), currency="CNY")
        )


def test_merchant_policy_is_added_to_a_database_made_before_it(db_url: str) -> None:
    upgrade(db_url, "0001")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO merchants (name, created_at) VALUES ('old', CURRENT_TIMESTAMP)")
            )
        upgrade(db_url)
        with Session(engine) as session:
            merchant = session.scalars(select(Merchant)).one()
            assert merchant.name == "old" and merchant.policy is None
            merchant.policy = {"returns": {"zh": ["7天无理由"]}}
            session.commit()
        with Session(engine) as session:
            stored = session.scalars(select(Merchant.policy)).one()
            assert stored == {"returns": {"zh": ["7天无理由"]}}
    finally:
        engine.dispose()
