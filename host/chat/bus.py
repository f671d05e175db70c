"""The comment bus: how comments received by a web front reach the session of their stream.

The web front (the websocket ingress, the Douyin webhook) and the sessions meet only here,
by stream name: the route takes `source(stream)` and publishes into it (its own `offer` or
`accept`, which answer the sender with what happened to each comment: accepted, duplicate,
busy), the session iterates the same stream's source. Nothing else passes between them, so
the in-process hubs of today (`IngressHub`, `DouyinHub`: bounded asyncio queues) can be
swapped for a bus between processes (Redis Streams, one consumer group per stream) without
either side changing.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from host.chat.sources import Source

S = TypeVar("S", bound=Source, covariant=True)


class CommentBus(Protocol[S]):
    def source(self, stream: str) -> S:
        """The stream's end of the bus, made on first use by whichever side comes first."""
        ...
