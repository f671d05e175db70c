"""`host voice ...`: hear the configured voice, and cloned voice profiles with their consent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from host.commands.shell import console, load_settings, one_line_errors, out

voice_app = typer.Typer(
    help="Try the configured voices; voice profiles for cloning (XTTS).", no_args_is_help=True
)


@voice_app.command("test")
@one_line_errors
def voice_test(
    text: Annotated[str, typer.Argument(help="the line to speak")],
    lang: Annotated[Literal["en", "zh"], typer.Option("--lang", help="language: en or zh")] = "zh",
    wav: Annotated[
        Path | None, typer.Option("--out", help="WAV file to write (voice-test-LANG.wav)")
    ] = None,
) -> None:
    """Speak TEXT with the voice VOICE_EN / VOICE_ZH names, into a WAV, with its timings."""
    from host.voice.trial import speak_line

    trial = speak_line(load_settings(), text, lang)
    path = wav or Path(f"voice-test-{lang}.wav")
    path.write_bytes(trial.wav())
    out.print(
        f"{trial.backend} ({lang}): {trial.duration_s:.2f} s of speech at {trial.sample_rate} Hz,"
        f" first audio {trial.first_audio_s * 1000:.0f} ms, whole line"
        f" {trial.total_s * 1000:.0f} ms (model load {trial.load_s:.2f} s),"
        f" {trial.visemes} visemes → {path}",
        highlight=False,
        soft_wrap=True,
    )
    if trial.spoken_text != text:
        console.print(f"spoken as: {trial.spoken_text}", highlight=False)


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
