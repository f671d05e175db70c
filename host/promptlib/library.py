"""The library in the database: versions of each item, labels that deploy them, releases.

Langfuse's model, for live selling: a version is immutable (author, time, parent, note);
a label (`production`, `staging`, or any A/B label) points at one version per item, and
moving it deploys or rolls back. A session asks for a label and gets, per item, the
label's version or production's where the label does not name one, so an A/B label needs
to carry only the items it changes. Every version passed validation when it was saved and
again when a label moved onto it: a failing version never reaches a session.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host.accounts import list_users
from host.changes import record_change
from host.db.models import PromptItem, PromptLabel, PromptRelease, PromptVersion
from host.errors import HostError
from host.promptlib.items import ITEMS, ItemSpec, item_for
from host.promptlib.validate import validate
from host.reply.guard import Guard
from host.reply.prompts import (
    DEFAULT_PROMPTS_DIR,
    BannedLists,
    banned_from,
    load_banned,
    parse_yaml,
)

PRODUCTION = "production"
STAGING = "staging"
# Who may move production: it is what every stream says by default.
PRODUCTION_ROLES = frozenset({"admin", "marketer"})
SEED_HINT = "run any `host prompts` command to seed the library"
LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class VersionInfo:
    ref: str
    number: int
    author: str
    note: str
    parent: int | None  # the number of the version it was edited from
    created_at: datetime
    body: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """What a label means now across all items: ref -> (version id, number, body)."""

    label: str
    versions: dict[str, tuple[int, int, str]]

    @property
    def digest(self) -> str:
        text = "\n".join(  # the texts too: two databases may number versions alike
            f"{ref}={vid}:{_hash(body)}" for ref, (vid, _, body) in sorted(self.versions.items())
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def bodies(self) -> dict[str, str]:
        return {ref: body for ref, (_, _, body) in self.versions.items()}

    def numbers(self) -> dict[str, int]:
        return {ref: number for ref, (_, number, _) in self.versions.items()}


class LabelForbidden(HostError):
    """A label move the user's role does not allow (production by an operator)."""


def target(ref: str) -> str:
    """The item as the changes trail names it (marketers see `prompts/...`)."""
    return f"prompts/{ref}"


def role_of(engine: Engine, name: str) -> str:
    """The account's role, for `--as USER` on the command line."""
    found = [u.role for u in list_users(engine) if u.name == name]
    if not found:
        raise HostError(f"no user {name!r}: create one with `host user add`")
    return found[0]


def check_label(label: str) -> str:
    if not LABEL.match(label):
        raise HostError(f"label {label!r}: use lower-case letters, digits, '.', '_' or '-'")
    return label


def _hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _item(session: Session, spec: ItemSpec) -> PromptItem:
    item = session.scalar(
        select(PromptItem).where(PromptItem.name == spec.name, PromptItem.language == spec.language)
    )
    if item is None:
        raise HostError(
            f"{spec.ref} has no versions yet: run any `host prompts` command to seed the library"
        )
    return item


def _label_rows(session: Session) -> dict[tuple[int, str], PromptLabel]:
    """The newest move per (item id, label): where each label points now."""
    newest = (
        select(func.max(PromptLabel.id)).group_by(PromptLabel.item_id, PromptLabel.label)
    ).scalar_subquery()
    rows = session.scalars(select(PromptLabel).where(PromptLabel.id.in_(newest)))
    return {(row.item_id, row.label): row for row in rows}


def _info(
    spec: ItemSpec, row: PromptVersion, parents: dict[int, int], labels: Sequence[str]
) -> VersionInfo:
    return VersionInfo(
        ref=spec.ref,
        number=row.number,
        author=row.author,
        note=row.note,
        parent=parents.get(row.parent_id) if row.parent_id is not None else None,
        created_at=row.created_at,
        body=row.body,
        labels=tuple(sorted(labels)),
    )


def banned_in_force(engine: Engine, folder: Path = DEFAULT_PROMPTS_DIR) -> BannedLists:
    """Production's banned claims and words (the file in `folder` before the library is
    seeded): what every spoken line is checked against, and every comment triaged by."""
    with Session(engine) as session:
        row = session.execute(
            select(PromptVersion.body)
            .join(PromptLabel, PromptLabel.version_id == PromptVersion.id)
            .join(PromptItem, PromptItem.id == PromptLabel.item_id)
            .where(PromptItem.name == "banned", PromptLabel.label == PRODUCTION)
            .order_by(PromptLabel.id.desc())
            .limit(1)
        ).scalar()
    if row is None:
        return load_banned(folder / "banned.yaml")
    return banned_from(parse_yaml(row, "banned"), "banned")


def guard_in_force(engine: Engine) -> Guard:
    """The guard of production's banned claims: what a saved line must pass."""
    return Guard(banned_in_force(engine).claims)


def seed(engine: Engine, folder: Path = DEFAULT_PROMPTS_DIR, author: str = "seed") -> list[str]:
    """Store each item's file as version 1 labelled production and staging, for items that
    have no version yet; returns the refs seeded (none on a second run)."""
    seeded = []
    guard = Guard(load_banned(folder / "banned.yaml").claims)
    with Session(engine) as session, session.begin():
        for spec in ITEMS:
            exists = session.scalar(
                select(PromptItem.id).where(
                    PromptItem.name == spec.name, PromptItem.language == spec.language
                )
            )
            if exists is not None:
                continue
            body = (folder / spec.path).read_text(encoding="utf-8")
            validate(spec, body, guard)
            item = PromptItem(name=spec.name, language=spec.language, kind=spec.kind)
            session.add(item)
            session.flush()
            version = PromptVersion(
                item_id=item.id,
                number=1,
                body=body,
                content_hash=_hash(body),
                author=author,
                note=f"seed from prompts/{spec.path}",
            )
            session.add(version)
            session.flush()
            for label in (PRODUCTION, STAGING):
                session.add(
                    PromptLabel(
                        item_id=item.id, label=label, version_id=version.id, moved_by=author
                    )
                )
            seeded.append(spec.ref)
    return seeded


def save_version(
    engine: Engine, ref: str, body: str, *, author: str, note: str = "", parent: int | None = None
) -> VersionInfo:
    """Validate and store a new version (parent: the number edited from, default the newest)."""
    spec = item_for(ref)
    validate(spec, body, guard_in_force(engine))
    with Session(engine) as session, session.begin():
        item = _item(session, spec)
        rows = {
            v.number: v
            for v in session.scalars(select(PromptVersion).where(PromptVersion.item_id == item.id))
        }
        base = rows[max(rows)] if parent is None else rows.get(parent)
        if base is None:
            raise HostError(f"{ref} has no version {parent}")
        if base.content_hash == _hash(body):
            raise HostError(f"{ref}: nothing changed from version {base.number}")
        row = PromptVersion(
            item_id=item.id,
            number=max(rows) + 1,
            body=body,
            content_hash=_hash(body),
            author=author,
            note=note,
            parent_id=base.id,
        )
        session.add(row)
        session.flush()
        saved = _info(spec, row, {base.id: base.number}, ())
    detail = {"version": saved.number, "parent": saved.parent, "note": note}
    record_change(engine, author, "prompt.save", target(ref), detail)
    return saved


def versions(engine: Engine, ref: str) -> list[VersionInfo]:
    """Every version of the item, newest first, with the labels on each."""
    spec = item_for(ref)
    with Session(engine) as session:
        item = _item(session, spec)
        rows = list(
            session.scalars(
                select(PromptVersion)
                .where(PromptVersion.item_id == item.id)
                .order_by(PromptVersion.number.desc())
            )
        )
        on: dict[int, list[str]] = {}
        for (item_id, label), move in _label_rows(session).items():
            if item_id == item.id:
                on.setdefault(move.version_id, []).append(label)
    parents = {row.id: row.number for row in rows}
    return [_info(spec, row, parents, on.get(row.id, ())) for row in rows]


def version(
    engine: Engine, ref: str, number: int | None = None, label: str | None = None
) -> VersionInfo:
    """One version by number, or the one `label` points at (default: production)."""
    found = versions(engine, ref)
    if number is not None:
        match = [v for v in found if v.number == number]
        if not match:
            raise HostError(f"{ref} has no version {number} (newest: {found[0].number})")
        return match[0]
    want = label or PRODUCTION
    match = [v for v in found if want in v.labels]
    if not match:
        raise HostError(f"{ref}: no version is labelled {want!r}")
    return match[0]


def labels(engine: Engine) -> dict[str, dict[str, int]]:
    """ref -> label -> version number, for every item in the library."""
    with Session(engine) as session:
        items = {i.id: i for i in session.scalars(select(PromptItem))}
        numbers = {
            vid: n for vid, n in session.execute(select(PromptVersion.id, PromptVersion.number))
        }
        out: dict[str, dict[str, int]] = {}
        for (item_id, label), move in sorted(_label_rows(session).items()):
            item = items[item_id]
            ref = item.name if item.language == "any" else f"{item.name}/{item.language}"
            out.setdefault(ref, {})[label] = numbers[move.version_id]
    return out


def move_label(
    engine: Engine, ref: str, label: str, number: int, *, who: str, role: str | None
) -> int | None:
    """Point `label` of the item at version `number` (deploy, or roll back to an older one);
    returns the number it pointed at before. Production moves need an admin or a marketer."""
    spec = item_for(ref)
    check_label(label)
    if label == PRODUCTION and role not in PRODUCTION_ROLES:
        raise LabelForbidden(
            f"only an admin or a marketer may move {PRODUCTION} ({who} is {role or 'unknown'})"
        )
    chosen = version(engine, ref, number)
    validate(spec, chosen.body, guard_in_force(engine))  # the banned list may have grown since
    with Session(engine) as session, session.begin():
        item = _item(session, spec)
        previous = _label_rows(session).get((item.id, label))
        before = None
        if previous is not None:
            before = session.scalar(
                select(PromptVersion.number).where(PromptVersion.id == previous.version_id)
            )
        row_id = session.scalar(
            select(PromptVersion.id).where(
                PromptVersion.item_id == item.id, PromptVersion.number == number
            )
        )
        assert row_id is not None
        session.add(PromptLabel(item_id=item.id, label=label, version_id=row_id, moved_by=who))
    detail = {"label": label, "version": number, "from": before}
    record_change(engine, who, "prompt.label", target(ref), detail)
    return before


def label_history(engine: Engine, ref: str, label: str) -> list[tuple[datetime, str, int]]:
    """(when, who, version number) of each move of the label, newest first."""
    spec = item_for(ref)
    with Session(engine) as session:
        item = _item(session, spec)
        rows = session.execute(
            select(PromptLabel.moved_at, PromptLabel.moved_by, PromptVersion.number)
            .join(PromptVersion, PromptVersion.id == PromptLabel.version_id)
            .where(PromptLabel.item_id == item.id, PromptLabel.label == label)
            .order_by(PromptLabel.id.desc())
        )
        return [(at, who, number) for at, who, number in rows]


def resolve(session: Session, label: str) -> Resolved:
    """Each item's version under `label`, production's where the label names none."""
    moves = _label_rows(session)
    items = {(i.name, i.language): i.id for i in session.scalars(select(PromptItem))}
    chosen: dict[str, int] = {}
    for spec in ITEMS:
        item_id = items.get((spec.name, spec.language))
        move = (
            (moves.get((item_id, label)) or moves.get((item_id, PRODUCTION))) if item_id else None
        )
        if move is None:
            raise HostError(f"{spec.ref} has no {label!r} or {PRODUCTION!r} version: {SEED_HINT}")
        chosen[spec.ref] = move.version_id
    rows = {
        v.id: v
        for v in session.scalars(select(PromptVersion).where(PromptVersion.id.in_(chosen.values())))
    }
    return Resolved(
        label, {ref: (vid, rows[vid].number, rows[vid].body) for ref, vid in chosen.items()}
    )


def require_labels(session: Session, wanted: Sequence[str]) -> None:
    """Fail on a label no item carries: a typo would otherwise quietly mean production."""
    known = set(session.scalars(select(PromptLabel.label).distinct()))
    unknown = [label for label in wanted if label not in known]
    if unknown:
        raise HostError(
            f"prompt label {unknown[0]!r} is on no item (labels: {', '.join(sorted(known))})"
        )


def labels_version(session: Session) -> tuple[int, int]:
    """A cheap question whose answer changes whenever a label moves (moves are append-only)."""
    newest, count = session.execute(
        select(func.max(PromptLabel.id), func.count(PromptLabel.id))
    ).one()
    return int(newest or 0), int(count)


def release(engine: Engine, resolved: Resolved) -> str:
    """The prompt version an audit row names for `resolved`: `label#id`, one row per distinct
    set of versions, so the report can say which item versions spoke."""
    digest = resolved.digest
    for _ in range(2):  # a second session may insert the same release at the same moment
        try:
            with Session(engine) as session, session.begin():
                found = session.scalar(
                    select(PromptRelease.id).where(PromptRelease.digest == digest)
                )
                if found is None:
                    row = PromptRelease(
                        digest=digest, label=resolved.label, versions=resolved.numbers()
                    )
                    session.add(row)
                    session.flush()
                    found = row.id
                return f"{resolved.label}#{found}"
        except IntegrityError:
            continue
    raise HostError(f"could not record the release of {resolved.label}")


def release_versions(engine: Engine, prompt_version: str) -> dict[str, int]:
    """The item versions behind an audit row's `label#id` ({} when unknown)."""
    _, _, number = prompt_version.partition("#")
    if not number.isdigit():
        return {}
    with Session(engine) as session:
        row = session.get(PromptRelease, int(number))
        return dict(row.versions) if row is not None else {}


def diff(a: VersionInfo, b: VersionInfo) -> str:
    """A unified diff from `a` to `b`, as the console's diff view and `host prompts diff` show."""
    return "".join(
        difflib.unified_diff(
            a.body.splitlines(keepends=True),
            b.body.splitlines(keepends=True),
            fromfile=f"{a.ref} v{a.number}",
            tofile=f"{b.ref} v{b.number}",
        )
    )
