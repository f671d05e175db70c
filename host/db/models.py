"""The database schema, in one place; `alembic/versions/` must always agree with it.

Types are chosen to behave the same on SQLite (the offline default) and PostgreSQL
(production): generic `JSON`, `Numeric` for money, timezone-aware timestamps, and a naming
convention so constraint names are identical on both and migrations can refer to them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2, asdecimal=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A stored timestamp in UTC: SQLite hands them back without their zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dict[str, Any]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
        dict[str, str]: JSON,
        datetime: DateTime(timezone=True),
        Decimal: Money,
    }


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # topic -> language -> wordings (see host.catalog.policy); None: the merchant gave none
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Product(Base):
    """One sellable item of a merchant; removed items stay as rows with `active=False`."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("merchant_id", "sku", name="uq_products_merchant_id_sku"),
        Index("ix_products_merchant_id_link", "merchant_id", "link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    list_price: Mapped[Decimal | None]
    stock: Mapped[int | None] = mapped_column(Integer)
    link: Mapped[int | None] = mapped_column(Integer)
    promotion: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(default=list)
    attributes: Mapped[dict[str, str]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CatalogImport(Base):
    """One catalog upload: who, what file, and what it changed (kept for audit and undo)."""

    __tablename__ = "catalog_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    diff: Mapped[dict[str, Any]]


class PriceHistory(Base):
    """Every price a product had, so a price quoted on air can be checked afterwards."""

    __tablename__ = "price_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    old_price: Mapped[Decimal | None]
    new_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_imports.id", ondelete="SET NULL")
    )


class StreamSession(Base):
    """One live stream; `checkpoint` is the session's serialisable state to resume from."""

    __tablename__ = "stream_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32), default="running")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # journal
    heartbeat_at: Mapped[datetime | None]  # last audit write: a stale one means the process died
    owner: Mapped[str | None] = mapped_column(String(200))  # "host:pid" of the running process
    epoch: Mapped[int | None] = mapped_column(Integer)  # its stream's lease epoch (lease.py)


class StreamLease(Base):
    """Who may write for a stream: the session of the newest epoch. A successor raises the
    epoch when it takes over, and every audit write checks it, so a zombie of an older
    epoch is refused (fencing). `on_air_since` is kept across takeovers: the program clock
    a successor's RTMP push continues on."""

    __tablename__ = "stream_leases"

    stream: Mapped[str] = mapped_column(String(200), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(200))
    renewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    on_air_since: Mapped[datetime] = mapped_column(default=utcnow)


class CommentRecord(Base):
    """Every viewer comment and what triage decided about it (the audit log's input side)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_session_id_message_id", "session_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("stream_sessions.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    user_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="chat")
    received_at: Mapped[float] = mapped_column(Float)
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[float | None] = mapped_column(Float)


class ReplyRecord(Base):
    """Every line the host said (or the guard stopped), with its per-stage timestamps."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("stream_sessions.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    intent: Mapped[str] = mapped_column(String(32))
    skus: Mapped[list[str]] = mapped_column(default=list)
    backend: Mapped[str] = mapped_column(String(64))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    guard_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    violations: Mapped[list[str]] = mapped_column(default=list)
    stamps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged: Mapped[list[str]] = mapped_column(default=list, server_default="[]")  # also answered
    approved_by: Mapped[str | None] = mapped_column(String(200))  # who approved or typed it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Avatar(Base):
    """A face the host can wear, with the consent of the person it depicts (if any)."""

    __tablename__ = "avatars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(500))
    consent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptItem(Base):
    """One prompt or script a marketer edits (persona, reply templates, a pitch script...),
    per language ("any" for a file that holds both); its wording lives in versions."""

    __tablename__ = "prompt_items"
    __table_args__ = (UniqueConstraint("name", "language", name="uq_prompt_items_name_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptVersion(Base):
    """One saved wording of an item: who wrote it, from which version, and why. Immutable:
    an edit is a new version, so a spoken line can always be traced to its exact words."""

    __tablename__ = "prompt_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "number", name="uq_prompt_versions_item_id_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("prompt_items.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("prompt_versions.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptLabel(Base):
    """A label move: from `moved_at`, `label` of the item means `version_id`. Append-only, so
    the newest row per (item, label) is the deployment and the older ones its history."""

    __tablename__ = "prompt_labels"
    __table_args__ = (Index("ix_prompt_labels_item_id_label", "item_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("prompt_items.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    moved_by: Mapped[str] = mapped_column(String(100))
    moved_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptRelease(Base):
    """What a label resolved to across all items at some moment: the prompt version an audit
    row names (`label#id`), mapped back to each item's version number."""

    __tablename__ = "prompt_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    versions: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who signs in to the console or owns API tokens.

    `merchants` lists the merchant slugs a merchant-role user keeps (slugs, not foreign keys:
    an account may be made before its catalog is first imported).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    merchants: Mapped[list[str]] = mapped_column(default=list)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None: tokens only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for scripts and bridges; only its SHA-256 is kept, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class LoginSession(Base):
    """A signed-in browser: the cookie's SHA-256, its CSRF token and when it lapses."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Change(Base):
    """One human change (a price, a lineup, a start or stop), with who made it and when."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    who: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300), index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
