"""`storable()`: a comment made to fit its database row, applied at the edge of a session.

Platforms and bridges send what they like: a 200-character message id, a 40-character
platform name, NUL bytes, a JSON-escaped lone surrogate (`"\\ud800"`). Each of those fails
the audit insert (a column is shorter; PostgreSQL refuses NUL in text; no database takes a
string that does not encode as UTF-8), and a failed insert must not cost the stream its
comments. So every comment is mapped, once, to one that fits `CommentRecord`:

- an id (message or user) that is too long or not clean text becomes `sha256:<hex>` of
  itself: stable, so a resend still dedupes, and distinct ids stay distinct;
- platform and user name are cut to their columns (a display string, not an identity);
- control characters go (text keeps newline and tab; one-line fields turn them into a
  space), lone surrogates become U+FFFD;
- an unknown kind is read as chat.

The limits are read from the model, so they follow a migration; the ingress schema uses the
same ones. `storable()` is idempotent and returns the comment itself when it already fits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

from sqlalchemy import String

from host.chat.events import KINDS, Comment
from host.db.models import CommentRecord


def _column_length(name: str) -> int:
    column = CommentRecord.__table__.c[name].type
    assert isinstance(column, String) and column.length is not None, name
    return column.length


MESSAGE_ID_MAX = _column_length("message_id")
PLATFORM_MAX = _column_length("platform")
USER_ID_MAX = _column_length("user_id")
USER_NAME_MAX = _column_length("user_name")

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Unicode Cc but tab and newline
_LINE_BREAKS = re.compile(r"[\t\n\r]")


def storable(comment: Comment) -> Comment:
    """The comment with every stored field fitting its column and encodable as UTF-8."""
    fitted = dataclasses.replace(
        comment,
        platform=_line(comment.platform)[:PLATFORM_MAX],
        message_id=_stable_id(comment.message_id, MESSAGE_ID_MAX),
        user_id=_stable_id(comment.user_id, USER_ID_MAX),
        user_name=_line(comment.user_name)[:USER_NAME_MAX],
        room=_line(comment.room),
        text=_text(comment.text),
        kind=comment.kind if comment.kind in KINDS else "chat",
    )
    return comment if fitted == comment else fitted


def _text(value: str) -> str:
    """Lone surrogates as U+FFFD, control characters but newline and tab removed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # only surrogates fail: pairs are joined, lone ones replaced
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROLS.sub("", value)


def _line(value: str) -> str:
    return _text(_LINE_BREAKS.sub(" ", value))


def _stable_id(value: str, limit: int) -> str:
    if len(value) <= limit and _line(value) == value:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
