"""`/api/changes`: the trail of human changes (host/changes.py), as each role may see it.

Admins and operators see everything; a merchant sees what happened under their own
merchants (`merchants/{slug}/...`); a marketer sees prompt changes (`prompts/...`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from host.changes import list_changes, merchant_target
from host.web.auth import CurrentUser
from host.web.deps import EngineDep

router = APIRouter(prefix="/api/changes", tags=["changes"])


@router.get("")
def changes(
    user: CurrentUser,
    engine: EngineDep,
    target: Annotated[
        str | None, Query(max_length=300, description="only targets starting with this")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Newest first: who changed what, when, and the values they gave."""
    if user.role in ("admin", "operator"):
        allowed = None
    elif user.role == "merchant":
        allowed = [merchant_target(slug, "") for slug in sorted(user.merchants)]
    else:
        allowed = ["prompts/"]
    if target is not None:
        if allowed is not None and not target.startswith(tuple(allowed)):
            raise HTTPException(403, f"{target!r} is not among the targets you may see")
        allowed = [target]
    rows = list_changes(engine, target_prefix=allowed, limit=limit)
    return [row.as_json() for row in rows]
