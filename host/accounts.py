"""Accounts: users and their roles, API tokens, and signed-in browser sessions.

The CLI (`host user ...`, `host token ...`) and the web front call these functions; neither
touches the tables itself.

Secrets are never stored: passwords as argon2id hashes (argon2-cffi's RFC 9106 profile),
API tokens and session cookies as SHA-256 digests (they are long random strings, so a fast
hash is enough, and a lookup by digest is one indexed query). A token is shown once, when it
is made.

Every function here blocks on the database and, for passwords, on about 50 ms of hashing:
async callers run them in a thread.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal, cast, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host.db.models import ApiToken, LoginSession, User, aware
from host.errors import HostError

Role = Literal["admin", "operator", "merchant", "marketer"]
ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "lh_"  # so a leaked token is recognisable in logs and secret scanners
MIN_PASSWORD = 8
TOKEN_TOUCH = timedelta(minutes=1)  # last-used time is written at most this often per token
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")

_hasher = PasswordHasher()


class AccountError(HostError):
    """A user or token that cannot be made, found or removed, said so the user can fix it."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user's name and role, the merchants they keep, how they signed in."""

    name: str
    role: Role
    merchants: frozenset[str]
    via: Literal["session", "token"]

    def may_manage_merchant(self, slug: str) -> bool:
        """Admins and operators run every merchant; a merchant only their own; marketers none."""
        if self.role in ("admin", "operator"):
            return True
        return self.role == "merchant" and slug in self.merchants


@dataclass(frozen=True)
class UserRow:
    name: str
    role: Role
    merchants: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class TokenRow:
    name: str
    user: str
    created_at: datetime
    last_used_at: datetime | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so that answer takes as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _principal(user: User, via: Literal["session", "token"]) -> Principal:
    return Principal(user.name, cast(Role, user.role), frozenset(user.merchants), via)


# users


def create_user(
    engine: Engine,
    name: str,
    role: str,
    password: str | None,
    merchants: Iterable[str] = (),
) -> UserRow:
    """Add a user. Merchant users keep at least one merchant; other roles keep none (they see
    all, or none, by role). `password=None` makes an account that only signs in by token."""
    if not _NAME.match(name):
        raise AccountError(f"user name {name!r}: use 1-100 letters, digits or . _ @ - (no spaces)")
    if role not in ROLES:
        raise AccountError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    slugs = tuple(dict.fromkeys(m.strip() for m in merchants if m.strip()))
    if role == "merchant" and not slugs:
        raise AccountError("a merchant user needs --merchant (the catalog they keep)")
    if role != "merchant" and slugs:
        raise AccountError(f"--merchant is for merchant users; {role}s see by role")
    if password is not None:
        _check_length(password)
    hashed = _hasher.hash(password) if password is not None else None
    user = User(name=name, role=role, merchants=list(slugs), password_hash=hashed)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            session.add(user)
    except IntegrityError:
        raise AccountError(f"there is already a user {name!r}") from None
    return UserRow(user.name, cast(Role, user.role), slugs, aware(user.created_at))


def _check_length(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")


def set_password(engine: Engine, name: str, password: str) -> None:
    """Give `name` a new password and sign out their browsers (tokens stay valid)."""
    _check_length(password)
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise AccountError(f"no user {name!r}")
        user.password_hash = _hasher.hash(password)
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def list_users(engine: Engine) -> list[UserRow]:
    with Session(engine) as session:
        return [
            UserRow(u.name, cast(Role, u.role), tuple(u.merchants), aware(u.created_at))
            for u in session.scalars(select(User).order_by(User.name))
        ]


def remove_user(engine: Engine, name: str) -> None:
    """Remove a user with their tokens and sessions (they are signed out at once). The last
    admin stays: without one, nobody could manage accounts from the console."""
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise AccountError(f"no user {name!r}")
        if user.role == "admin":
            admins = session.scalar(
                select(func.count()).select_from(User).where(User.role == "admin")
            )
            if admins == 1:
                raise AccountError(f"{name} is the last admin: add another admin first")
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        session.delete(user)


def check_password(engine: Engine, name: str, password: str) -> Principal | None:
    """The user if `password` is theirs, else None; an unknown name costs a hash check too."""
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user is not None else None
        try:
            _hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or stored is None:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        return _principal(user, "session")


# API tokens


def create_token(engine: Engine, name: str, user: str) -> str:
    """Make a token for `user` and return it: the only time it is ever shown."""
    if not _NAME.match(name):
        raise AccountError(f"token name {name!r}: use 1-100 letters, digits or . _ @ -")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with Session(engine) as session, session.begin():
            owner = session.scalar(select(User).where(User.name == user))
            if owner is None:
                raise AccountError(f"no user {user!r}")
            session.add(ApiToken(user_id=owner.id, name=name, token_hash=digest(token)))
    except IntegrityError:
        raise AccountError(f"there is already a token named {name!r}") from None
    return token


def list_tokens(engine: Engine, user: str | None = None) -> list[TokenRow]:
    query = select(ApiToken, User.name).join(User).order_by(ApiToken.name)
    if user is not None:
        query = query.where(User.name == user)
    with Session(engine) as session:
        return [
            TokenRow(
                t.name,
                owner,
                aware(t.created_at),
                aware(t.last_used_at) if t.last_used_at else None,
            )
            for t, owner in session.execute(query)
        ]


def revoke_token(engine: Engine, name: str, *, user: str | None = None) -> str:
    """Revoke (delete) a token and return its user's name: the next call made with it is
    refused. With `user`, only a token of that user (a user revoking their own)."""
    with Session(engine) as session, session.begin():
        query = select(ApiToken, User.name).join(User).where(ApiToken.name == name)
        if user is not None:
            query = query.where(User.name == user)
        row = session.execute(query).first()
        if row is None:
            raise AccountError(f"no token {name!r}")
        token, owner = row
        session.delete(token)
        return owner


def token_principal(engine: Engine, token: str) -> Principal | None:
    """Who a bearer token belongs to, or None; notes when it was last used."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        row = session.execute(
            select(ApiToken, User).join(User).where(ApiToken.token_hash == digest(token))
        ).first()
        if row is None:
            return None
        api_token, user = row
        if api_token.last_used_at is None or now - aware(api_token.last_used_at) > TOKEN_TOUCH:
            api_token.last_used_at = now
        return _principal(user, "token")


# browser sessions


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    csrf_token: str


def start_session(engine: Engine, name: str, lifetime: timedelta) -> tuple[str, str]:
    """A new session for user `name`: (cookie value, CSRF token). Expired sessions of every
    user are removed on the way, so the table holds only live ones."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise AccountError(f"no user {name!r}")
        session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
        session.add(
            LoginSession(
                user_id=user.id,
                token_hash=digest(cookie),
                csrf_token=csrf,
                expires_at=now + lifetime,
            )
        )
    return cookie, csrf


def session_principal(engine: Engine, cookie: str) -> SignedIn | None:
    """Who a session cookie belongs to and its CSRF token, or None when unknown or expired."""
    with Session(engine) as session:
        row = session.execute(
            select(LoginSession, User).join(User).where(LoginSession.token_hash == digest(cookie))
        ).first()
        if row is None:
            return None
        login, user = row
        if aware(login.expires_at) <= datetime.now(UTC):
            return None
        return SignedIn(_principal(user, "session"), login.csrf_token)


def end_session(engine: Engine, cookie: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(LoginSession).where(LoginSession.token_hash == digest(cookie)))
