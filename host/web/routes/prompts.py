"""`/api/prompts`: the prompt library for the console's Prompts page, thin over the CLI's calls.

Marketers, operators and admins read the library, save versions and move labels; only
admins and marketers move `production` (403 otherwise). A version that fails validation is
a 422 listing every problem, and nothing is stored. The playground answers one comment
with a label's wording, as a stream speaking that label would, with the guard's verdict
and the latency. Every save and move is in the changes trail under `prompts/`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from host.errors import HostError
from host.promptlib import library
from host.promptlib.items import ANY, BY_REF, ITEMS
from host.promptlib.validate import PromptInvalid
from host.web.auth import Principal, require
from host.web.deps import EngineDep, SettingsDep


def _seeded(request: Request, engine: EngineDep, settings: SettingsDep) -> None:
    """The library is seeded from `prompts/` on the first call, as by the CLI."""
    if not getattr(request.app.state, "prompts_seeded", False):
        library.seed(engine, settings.prompts_dir)
        request.app.state.prompts_seeded = True


router = APIRouter(prefix="/api/prompts", tags=["prompts"], dependencies=[Depends(_seeded)])
Editor = Annotated[Principal, require("marketer", "operator")]


class NewVersion(BaseModel):
    body: str = Field(max_length=200_000)
    note: str = Field(default="", max_length=500)
    parent: int | None = Field(default=None, ge=1, description="version edited from")


class LabelMove(BaseModel):
    version: int = Field(ge=1)


class Try(BaseModel):
    comment: str = Field(min_length=1, max_length=500)
    label: str = "production"
    merchant: str | None = None
    user: str = Field(default="viewer", max_length=50)


def _ref(name: str, language: str) -> str:
    ref = name if language == ANY else f"{name}/{language}"
    if ref not in BY_REF:
        raise HTTPException(404, f"no prompt item {ref!r}")
    return ref


def _pick(which: str) -> tuple[int | None, str | None]:
    return (int(which), None) if which.isdigit() else (None, which)


def _version(v: library.VersionInfo, body: bool) -> dict[str, Any]:
    out = {
        "ref": v.ref,
        "number": v.number,
        "author": v.author,
        "note": v.note,
        "parent": v.parent,
        "created_at": v.created_at.isoformat(),
        "labels": list(v.labels),
    }
    return out | ({"body": v.body} if body else {})


@router.get("")
def items(user: Editor, engine: EngineDep) -> list[dict[str, Any]]:
    """Every item: its name, language, purpose and where each label points."""
    on = library.labels(engine)
    return [
        {
            "ref": spec.ref,
            "name": spec.name,
            "language": spec.language,
            "kind": spec.kind,
            "purpose": spec.purpose,
            "labels": on.get(spec.ref, {}),
        }
        for spec in ITEMS
    ]


@router.get("/{name}/{language}/versions")
def versions(name: str, language: str, user: Editor, engine: EngineDep) -> list[dict[str, Any]]:
    """The item's versions, newest first (without their text)."""
    try:
        return [_version(v, False) for v in library.versions(engine, _ref(name, language))]
    except HostError as error:
        raise HTTPException(404, str(error)) from None


@router.get("/{name}/{language}/versions/{which}")
def version(
    name: str, language: str, which: str, user: Editor, engine: EngineDep
) -> dict[str, Any]:
    """One version with its text: a number, or a label (`production`)."""
    try:
        return _version(library.version(engine, _ref(name, language), *_pick(which)), True)
    except HostError as error:
        raise HTTPException(404, str(error)) from None


@router.get("/{name}/{language}/diff")
def diff(
    name: str, language: str, a: str, b: str, user: Editor, engine: EngineDep
) -> dict[str, str]:
    """The unified diff from `a` to `b` (numbers or labels), for the diff view."""
    ref = _ref(name, language)
    try:
        old, new = library.version(engine, ref, *_pick(a)), library.version(engine, ref, *_pick(b))
    except HostError as error:
        raise HTTPException(404, str(error)) from None
    return {"diff": library.diff(old, new)}


@router.post("/{name}/{language}/versions", status_code=201)
def save(
    name: str, language: str, new: NewVersion, user: Editor, engine: EngineDep
) -> dict[str, Any]:
    """Save a new version; 422 with every problem when it fails validation."""
    ref = _ref(name, language)
    try:
        saved = library.save_version(
            engine, ref, new.body, author=user.name, note=new.note, parent=new.parent
        )
    except PromptInvalid as error:
        raise HTTPException(422, {"message": str(error), "problems": error.problems}) from None
    except HostError as error:
        raise HTTPException(422, {"message": str(error), "problems": [str(error)]}) from None
    return _version(saved, False)


@router.put("/{name}/{language}/labels/{label}")
def move(
    name: str, language: str, label: str, to: LabelMove, user: Editor, engine: EngineDep
) -> dict[str, Any]:
    """Point a label at a version: streams speaking it use it from their next reply."""
    ref = _ref(name, language)
    try:
        before = library.move_label(engine, ref, label, to.version, who=user.name, role=user.role)
    except library.LabelForbidden as error:
        raise HTTPException(403, str(error)) from None
    except PromptInvalid as error:
        raise HTTPException(422, {"message": str(error), "problems": error.problems}) from None
    except HostError as error:
        raise HTTPException(422, {"message": str(error), "problems": [str(error)]}) from None
    return {"ref": ref, "label": label, "version": to.version, "previous": before}


@router.get("/ab/{stream}")
def ab(stream: str, user: Editor, engine: EngineDep) -> list[dict[str, Any]]:
    """The A/B report of a stream's sessions, per prompt version (orders: `host prompts ab`)."""
    from host.promptlib.abreport import ab_report

    try:
        return ab_report(engine, stream, library.guard_in_force(engine))
    except HostError as error:
        raise HTTPException(404, str(error)) from None


@router.post("/playground")
async def playground(
    trial: Try, user: Editor, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """One comment answered with a label's wording: the reply, the guard's verdict, latency."""
    from host.ask import Asker
    from host.catalog.store import DbCatalog
    from host.promptlib.onair import build_arm

    def arm_for() -> Any:
        with Session(engine) as session:
            library.require_labels(session, [library.check_label(trial.label)])
            resolved = library.resolve(session, trial.label)
        return build_arm(engine, settings, resolved, set())

    try:
        arm = await run_in_threadpool(arm_for)
    except HostError as error:
        raise HTTPException(422, str(error)) from None
    catalog = DbCatalog(engine, trial.merchant or settings.demo_merchant)
    asker = Asker(catalog, arm.responder, arm.guard, list(arm.words))
    result = await asker.ask_async(trial.comment, trial.user)
    return {
        "prompt_version": arm.prompt_version,
        **result.as_json(),
        "violation_kinds": [arm.guard.kind(v) for v in result.violations],
    }
