"""`/api/streams`: start streams from stream files, list them, watch them, stop them.

Stream files are read from `STREAMS_DIR` by name only, so a request can start what the
operator put there and nothing else on the server's disk.

Who may: admins and operators every stream; a merchant user the streams whose file names
one of their merchants (any other stream is a 404, as if it did not exist); marketers none.
Starts and stops are recorded in the changes trail. A status never carries a secret (see
`StreamManager.status`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from host.changes import merchant_target, record_change
from host.errors import HostError
from host.session.manager import Managed, StreamManager
from host.session.spec import load_stream
from host.web.auth import Principal, require
from host.web.deps import EngineDep, SettingsDep

router = APIRouter(prefix="/api/streams", tags=["streams"])

Streamer = require("operator", "merchant")


class StartRequest(BaseModel):
    file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.ya?ml$", description="a file in STREAMS_DIR")
    duration: float | None = Field(default=None, gt=0)


def _manager(request: Request) -> StreamManager:
    manager: StreamManager = request.app.state.manager
    return manager


def _visible(user: Principal, managed: Managed) -> bool:
    return user.may_manage_merchant(managed.spec.merchant)


def _find(request: Request, name: str, user: Principal) -> Managed:
    managed = _manager(request).streams.get(name)
    if managed is None or not _visible(user, managed):
        raise HTTPException(404, f"no stream {name}")
    return managed


@router.get("")
def list_streams(request: Request, user: Principal = Streamer) -> list[dict[str, Any]]:
    manager = _manager(request)
    return [
        manager.status(name) for name, managed in manager.streams.items() if _visible(user, managed)
    ]


@router.post("", status_code=202)
async def start_stream(
    body: StartRequest,
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    user: Principal = Streamer,
) -> dict[str, Any]:
    path = settings.streams_dir / body.file
    if not path.is_file():
        raise HTTPException(404, f"no stream file {body.file} in STREAMS_DIR")
    manager = _manager(request)
    try:
        spec = load_stream(path)
        if not user.may_manage_merchant(spec.merchant):
            raise HTTPException(404, f"no stream file {body.file} in STREAMS_DIR")
        managed = manager.start(spec, path=path, duration=body.duration)
    except HostError as error:
        raise HTTPException(422, str(error)) from None
    target = merchant_target(spec.merchant, "streams", spec.name)
    detail = {"file": body.file, "duration": body.duration}
    await run_in_threadpool(record_change, engine, user.name, "stream.start", target, detail)
    return manager.status(managed.spec.name)


@router.get("/{name}")
def stream_status(name: str, request: Request, user: Principal = Streamer) -> dict[str, Any]:
    _find(request, name, user)
    return _manager(request).status(name)


@router.post("/{name}/stop", status_code=202)
def stop_stream(
    name: str, request: Request, engine: EngineDep, user: Principal = Streamer
) -> dict[str, Any]:
    managed = _find(request, name, user)
    manager = _manager(request)
    manager.stop(name)
    target = merchant_target(managed.spec.merchant, "streams", name)
    record_change(engine, user.name, "stream.stop", target)
    return manager.status(name)
