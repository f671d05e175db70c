"""Comments cut to what storage accepts (placeholder until the sources' version lands)."""

from __future__ import annotations

from host.chat.events import Comment


def storable(comment: Comment) -> Comment:
    return comment
