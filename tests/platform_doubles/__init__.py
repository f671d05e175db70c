"""Local servers that speak a platform's protocol on 127.0.0.1, for the source tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

from host.chat.events import Comment


async def take(source: AsyncIterable[Comment], n: int, *, close: bool = False) -> list[Comment]:
    """The source's next `n` comments, each within 10 s so a silent source fails the test.

    `close` ends the stream after them, so its cleanup runs while the double still listens.
    """
    stream = aiter(source)
    comments = [await asyncio.wait_for(anext(stream), 10) for _ in range(n)]
    if close:
        await stream.aclose()  # type: ignore[attr-defined]
    return comments
