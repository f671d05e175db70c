"""`host voice ...`: cloned voice profiles of real streamers, each with its consent record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from host.commands.shell import console, load_settings, one_line_errors, out

voice_app = typer.Typer(help="Voice profiles for cloning (XTTS).", no_args_is_help=True)


@voice_app.command("create")
@one_line_errors
def voice_create(
    from_media: Annotated[
        Path, typer.Option("--from-media", help="video or audio file of the streamer speaking")
    ],
    name: Annotated[str, typer.Option(help="profile name: lowercase letters, digits, - or _")],
    consent: Annotated[
        str, typer.Option(help="consent record: who agreed to the cloning, when and how")
    ],
    replace: Annotated[bool, typer.Option(help="overwrite an existing profile")] = False,
) -> None:
    """Cut a clean 6-15 s reference from the media and store it with the consent record."""
    from host.voice.clone import VoiceProfile, create_voice

    settings = load_settings()
    console.print(f"reading {from_media} …")
    profile = create_voice(settings, from_media, name, consent, replace=replace)
    out.print(
        f"voice {profile.name}: {profile.duration_s:.1f} s reference from "
        f"{profile.source_file} [{profile.source_start_s:.1f}-{profile.source_end_s:.1f} s], "
        f"{profile.speech_rms_dbfs:.1f} dBFS → {VoiceProfile.folder(settings, profile.name)}",
        highlight=False,
    )
    console.print(
        f"to speak in it: COQUI_SPEAKER={profile.name}, COQUI_MODEL_DIR=an XTTS v2 folder"
    )


@voice_app.command("list")
@one_line_errors
def voice_list() -> None:
    """Every voice profile, with its source and consent record."""
    from host.voice.clone import list_voices

    profiles = list_voices(load_settings())
    if not profiles:
        out.print("no voice profiles (host voice create --from-media FILE --name NAME --consent …)")
        return
    for profile in profiles:
        out.print(
            f"{profile.name}\t{profile.duration_s:.1f} s\t{profile.created_at}\t"
            f"{profile.source_file}\tconsent: {profile.consent}",
            highlight=False,
            soft_wrap=True,
        )
