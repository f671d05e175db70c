"""`storable()`: any comment a platform can send fits its database row, on SQLite and PostgreSQL."""

from __future__ import annotations

import unicodedata
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.chat.events import KINDS, Comment, CommentKind
from host.chat.sources.websocket_ingress import IngressComment
from host.chat.storable import (
    MESSAGE_ID_MAX,
    PLATFORM_MAX,
    USER_ID_MAX,
    USER_NAME_MAX,
    storable,
)
from host.db.models import CommentRecord, StreamSession

NASTY = ["\x00", "\ud800", "\udfff", "\ud83d", "\ude00", "\r", "\n", "\t", "\x7f", "\x85", "\x1b"]
# every code point, surrogates included (hypothesis leaves them out unless told), with the
# characters that broke intake drawn often
anything = st.text(
    st.one_of(st.characters(exclude_categories=()), st.sampled_from(NASTY)), max_size=300
)


@st.composite
def comments(draw: st.DrawFn) -> Comment:
    return Comment(
        platform=draw(anything),
        room=draw(anything),
        message_id=draw(anything),
        user_id=draw(anything),
        user_name=draw(anything),
        text=draw(anything),
        kind=cast(CommentKind, draw(st.one_of(st.sampled_from(sorted(KINDS)), anything))),
    )


def controls(value: str) -> set[str]:
    return {ch for ch in value if unicodedata.category(ch) == "Cc"}


@given(comments())
def test_any_comment_becomes_utf8_text_that_fits_every_column(comment: Comment) -> None:
    fitted = storable(comment)
    for name in ("platform", "room", "message_id", "user_id", "user_name", "text", "kind"):
        value = getattr(fitted, name)
        value.encode("utf-8")  # raises on a lone surrogate
        assert controls(value) <= ({"\n", "\t"} if name == "text" else set()), name
    assert len(fitted.platform) <= PLATFORM_MAX and len(fitted.user_name) <= USER_NAME_MAX
    assert len(fitted.message_id) <= MESSAGE_ID_MAX and len(fitted.user_id) <= USER_ID_MAX
    assert fitted.kind in KINDS


@given(comments())
def test_storable_is_idempotent(comment: Comment) -> None:
    once = storable(comment)
    assert storable(once) == once


@given(st.lists(anything, min_size=2, max_size=2, unique=True))
def test_ids_stay_stable_and_distinct(ids: list[str]) -> None:
    """A resend maps to the same id (so dedupe still works); two ids never merge."""
    first, second = (storable(Comment("p", "r", i, i, "u", "t")) for i in ids)
    again = storable(Comment("p", "r", ids[0], ids[0], "u", "t"))
    assert again.message_id == first.message_id and again.user_id == first.user_id
    assert first.message_id != second.message_id and first.user_id != second.user_id


def test_a_comment_that_fits_is_returned_as_it_is() -> None:
    comment = Comment("twitch", "room", "m" * MESSAGE_ID_MAX, "u1", "Lily", "多少钱?\n谢谢\t😀")
    assert storable(comment) is comment


def test_what_broke_intake_is_mapped_not_dropped() -> None:
    comment = Comment(
        platform="p" * 40,
        room="shop",
        message_id="m" * 200,
        user_id="viewer\x00",
        user_name="Li\ud800ly\n",
        text='price?\x00 "\ud800" \ud83d\ude00\r\n',
        kind=cast(CommentKind, "shout"),
    )
    fitted = storable(comment)
    assert fitted.platform == "p" * PLATFORM_MAX
    assert fitted.message_id.startswith("sha256:") and len(fitted.message_id) == 71
    assert fitted.user_id.startswith("sha256:")
    assert fitted.user_name == "Li\ufffdly "
    assert fitted.text == 'price? "\ufffd" 😀\n'  # a split pair is joined, a lone half replaced
    assert fitted.kind == "chat"


def stored(engine: Engine, fitted: list[Comment]) -> list[tuple[Any, ...]]:
    """Inserts the comments into a session's rows and reads them back, in order."""
    with Session(engine) as db:
        stream = StreamSession(name="edge")
        db.add(stream)
        db.flush()
        db.add_all(
            CommentRecord(
                session_id=stream.id,
                platform=c.platform,
                message_id=c.message_id,
                user_id=c.user_id,
                user_name=c.user_name,
                text=c.text,
                kind=c.kind,
                received_at=c.ts,
            )
            for c in fitted
        )
        db.commit()
        rows = db.execute(
            select(
                CommentRecord.platform,
                CommentRecord.message_id,
                CommentRecord.user_id,
                CommentRecord.user_name,
                CommentRecord.text,
                CommentRecord.kind,
            )
            .where(CommentRecord.session_id == stream.id)
            .order_by(CommentRecord.id)
        )
        return [tuple(row) for row in rows]


def fields(c: Comment) -> tuple[str, ...]:
    return (c.platform, c.message_id, c.user_id, c.user_name, c.text, c.kind)


def test_storable_comments_insert_into_real_rows(engine: Engine) -> None:
    """The edge cases above, and a batch of arbitrary ones, stored and read back unchanged."""
    nasty = Comment("p" * 40, "r", "m" * 200, "u\x00", "Li\ud800ly", "a\x00\udfffb", "chat")

    @hypothesis_settings(
        max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.lists(comments(), min_size=1, max_size=5))
    def batch(drawn: list[Comment]) -> None:
        fitted = [storable(c) for c in [nasty, *drawn]]
        assert stored(engine, fitted) == [fields(c) for c in fitted]

    batch()


@pytest.mark.parametrize(
    ("field", "column_max"),
    [("id", MESSAGE_ID_MAX), ("user_id", USER_ID_MAX), ("user", USER_NAME_MAX),
     ("platform", PLATFORM_MAX)],
)  # fmt: skip
def test_the_ingress_schema_refuses_what_the_column_cannot_hold(
    field: str, column_max: int
) -> None:
    message = {"id": "m1", "user": "Lily", "user_id": "u1", "platform": "shop", "text": "hi"}
    assert IngressComment.model_validate({**message, field: "x" * column_max})
    with pytest.raises(ValidationError, match=field):
        IngressComment.model_validate({**message, field: "x" * (column_max + 1)})
