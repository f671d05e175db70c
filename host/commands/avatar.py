"""`host avatar ...`: faces of real streamers, cloned from a photo or video with consent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from host.commands.shell import console, load_settings, one_line_errors, out
from host.errors import HostError

avatar_app = typer.Typer(help="Avatars cloned from a photo or video.", no_args_is_help=True)


@avatar_app.command("create")
@one_line_errors
def avatar_create(
    from_media: Annotated[
        Path,
        typer.Option("--from-media", help="a photo, or a video of the streamer facing the camera"),
    ],
    name: Annotated[str, typer.Option(help="avatar name: lowercase letters, digits, - or _")],
    consent: Annotated[
        str, typer.Option(help="consent record: who agreed to the cloning, when and how")
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="photo (one still) or loop (an idle video loop; film it talking, so the"
            " avatar speaks with the person's own mouth)"
        ),
    ] = "photo",
    voice: Annotated[
        bool,
        typer.Option("--voice", help="also clone the voice from the same file (host voice create)"),
    ] = False,
    replace: Annotated[bool, typer.Option(help="overwrite an existing avatar")] = False,
) -> None:
    """Check the media has one usable frontal face, and store it with the consent record."""
    from host.db.migrate import migrated_engine
    from host.face.avatars import create_avatar

    settings = load_settings()
    engine = migrated_engine(settings.database_url)
    console.print(f"reading {from_media} …")
    avatar = create_avatar(
        settings,
        engine,
        from_media,
        name,
        consent,
        kind=kind,
        replace=replace,
    )
    m = avatar.manifest
    at = f" at {m.source_time_s:.1f} s" if m.source_time_s is not None else ""
    out.print(
        f"avatar {m.name} ({m.kind}): face from {m.source_file}{at} → {avatar.folder}",
        highlight=False,
    )
    if m.kind == "loop":
        out.print(_mouths_line(avatar.folder), highlight=False)
    if voice:
        from host.voice.clone import create_voice

        try:
            profile = create_voice(settings, from_media, name, consent, replace=replace)
        except HostError as error:
            raise HostError(f"avatar {name} created, but not its voice: {error}") from None
        out.print(f"voice {profile.name}: {profile.duration_s:.1f} s reference", highlight=False)
    console.print(f"to wear it: AVATAR={m.name}", highlight=False)


@avatar_app.command("list")
@one_line_errors
def avatar_list() -> None:
    """The built-in hosts, then every created avatar with its source and consent record."""
    from host.face.avatar_looks import LOOKS
    from host.face.avatars import list_avatars
    from host.face.wear import builtin_look

    settings = load_settings()
    worn = None if settings.avatar else builtin_look(settings)
    for name, look in LOOKS.items():
        on = "\ton air" if name == worn else ""
        line = f"{name}\tbuilt-in\tHOST_LOOK={name}\t{look.description}{on}"
        out.print(line, highlight=False, soft_wrap=True)
    avatars = list_avatars(settings)
    if not avatars:
        out.print(
            "no created avatars (host avatar create --from-media FILE --name NAME --consent …)",
            soft_wrap=True,
        )
        return
    for avatar in avatars:
        m = avatar.manifest
        out.print(
            f"{m.name}\t{m.kind}\t{m.created_at}\t{m.source_file}\tconsent: {m.consent}",
            highlight=False,
            soft_wrap=True,
        )


def _mouths_line(folder: Path) -> str:
    """What the loop's mouth will be on air: the person's own, or a warp."""
    from host.face.mouth_bank import BANK, MouthBank

    bank = MouthBank.load(folder / BANK)
    if bank is None:
        return "the lips never part in this video: the mouth will be warped (film it talking)"
    return f"{len(bank.crops)} real mouths kept from the video for speaking"
