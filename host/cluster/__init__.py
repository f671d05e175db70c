"""Streams on a Ray cluster: each session a detached actor that Ray restarts elsewhere when
its process or its machine is lost (`actor.py`), placed, found and stopped from `host run
--cluster` and `host serve` (`placement.py`).

What makes a restart safe lives with the session, not here: its state is checkpointed to
the database, its comments wait on Redis Streams until audited (`host/chat/redis_bus.py`),
and its lease's epoch fences a predecessor that is in fact still running
(`host/session/lease.py`).
"""
