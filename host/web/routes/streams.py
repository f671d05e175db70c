"""`/api/streams`: start streams from stream files, list them, watch them, stop them.

Stream files are read from `STREAMS_DIR` by name only, so a request can start what the
operator put there and nothing else on the server's disk.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from host.errors import HostError
from host.session.manager import StreamManager
from host.web.deps import SettingsDep

router = APIRouter(prefix="/api/streams")


class StartRequest(BaseModel):
    file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.ya?ml$", description="a file in STREAMS_DIR")
    duration: float | None = Field(default=None, gt=0)


def _manager(request: Request) -> StreamManager:
    manager: StreamManager = request.app.state.manager
    return manager


@router.get("")
def list_streams(request: Request) -> list[dict[str, Any]]:
    manager = _manager(request)
    return [manager.status(name) for name in manager.streams]


@router.post("", status_code=202)
async def start_stream(
    body: StartRequest, request: Request, settings: SettingsDep
) -> dict[str, Any]:
    path = settings.streams_dir / body.file
    if not path.is_file():
        raise HTTPException(404, f"no stream file {body.file} in STREAMS_DIR")
    manager = _manager(request)
    try:
        managed = manager.start_file(path, duration=body.duration)
    except HostError as error:
        raise HTTPException(422, str(error)) from None
    return manager.status(managed.spec.name)


@router.get("/{name}")
def stream_status(name: str, request: Request) -> dict[str, Any]:
    try:
        return _manager(request).status(name)
    except KeyError:
        raise HTTPException(404, f"no stream {name}") from None


@router.post("/{name}/stop", status_code=202)
def stop_stream(name: str, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    try:
        manager.stop(name)
    except KeyError:
        raise HTTPException(404, f"no stream {name}") from None
    return manager.status(name)
