"""The Avatars and voices page: likenesses made from an uploaded photo or video with the
consent form, listed with their consent records, and a test line to hear.

Creation is the same library call as `host avatar create` / `host voice create`
(`host.face.avatars`, `host.voice.clone`), which refuses without a consent record; the
upload is written to a temporary file first and removed after.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from host.changes import record_change
from host.config import Settings
from host.errors import HostError
from host.face.avatars import avatar_folder, create_avatar, list_avatars
from host.session.controls import language_of
from host.voice.clone import create_voice, list_voices
from host.voice.trial import speak_line
from host.web.auth import Principal, require
from host.web.console.templating import page
from host.web.deps import EngineDep, SettingsDep

router = APIRouter(tags=["avatars"])
Maker = require("operator")
PREVIEW_MAX_CHARS = 200


@router.get("/avatars", response_class=HTMLResponse, include_in_schema=False)
def avatars_page(request: Request, settings: SettingsDep, user: Principal = Maker) -> Any:
    return page(
        request,
        "avatars.html",
        user,
        "Avatars & voices",
        avatars=[a.manifest for a in list_avatars(settings)],
        voices=list_voices(settings),
    )


@router.get("/avatars/{name}/image.png", include_in_schema=False)
def avatar_image(name: str, settings: SettingsDep, user: Principal = Maker) -> FileResponse:
    known = {a.manifest.name for a in list_avatars(settings)}
    if name not in known:
        raise HTTPException(404, f"no avatar {name}")
    return FileResponse(avatar_folder(settings, name) / "source.png", media_type="image/png")


async def _saved(upload: UploadFile, folder: str) -> Path:
    path = Path(folder) / Path(upload.filename or "upload").name
    path.write_bytes(await upload.read())
    return path


@router.post("/api/avatars", status_code=201)
async def new_avatar(
    settings: SettingsDep,
    engine: EngineDep,
    media: Annotated[UploadFile, File(description="a photo or a video of the person")],
    name: Annotated[str, Form(max_length=64)],
    consent: Annotated[str, Form(max_length=2000, description="who agreed, when, how")],
    kind: Annotated[str, Form()] = "photo",
    user: Principal = Maker,
) -> dict[str, Any]:
    """Create an avatar from an uploaded photo or video; refused without consent."""
    with tempfile.TemporaryDirectory(prefix="avatar-upload-") as folder:
        path = await _saved(media, folder)
        try:
            made = await run_in_threadpool(
                create_avatar, settings, engine, path, name, consent, kind=kind
            )
        except HostError as error:
            raise HTTPException(422, str(error)) from None
    detail = {"kind": kind, "consent": consent, "source": made.manifest.source_file}
    await run_in_threadpool(
        record_change, engine, user.name, "avatar.create", f"avatars/{name}", detail
    )
    return {"name": name, "kind": made.manifest.kind, "consent": made.manifest.consent}


@router.post("/api/voices", status_code=201)
async def new_voice(
    settings: SettingsDep,
    engine: EngineDep,
    media: Annotated[UploadFile, File(description="a recording or video of the person speaking")],
    name: Annotated[str, Form(max_length=64)],
    consent: Annotated[str, Form(max_length=2000, description="who agreed, when, how")],
    user: Principal = Maker,
) -> dict[str, Any]:
    """Create a voice profile (a clean reference clip) from an upload; refused without consent."""
    with tempfile.TemporaryDirectory(prefix="voice-upload-") as folder:
        path = await _saved(media, folder)
        try:
            made = await run_in_threadpool(create_voice, settings, path, name, consent)
        except HostError as error:
            raise HTTPException(422, str(error)) from None
    detail = {"consent": consent, "source": made.source_file}
    await run_in_threadpool(
        record_change, engine, user.name, "voice.create", f"voices/{name}", detail
    )
    return {"name": name, "duration_s": made.duration_s, "consent": made.consent}


class TestLine(BaseModel):
    text: str = Field(min_length=1, max_length=PREVIEW_MAX_CHARS)


@router.post("/api/voices/preview", response_class=Response)
async def preview_line(body: TestLine, settings: SettingsDep, user: Principal = Maker) -> Response:
    """The test line spoken by the host's configured voice, as a WAV file."""
    wav = await run_in_threadpool(_speak, settings, body.text)
    return Response(wav, media_type="audio/wav")


def _speak(settings: Settings, text: str) -> bytes:
    """The line in the configured voice alone: a broken voice is reported, not covered up."""
    try:
        return speak_line(settings, text, language_of(text)).wav()
    except HostError as error:
        raise HTTPException(422, str(error)) from None
