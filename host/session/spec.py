"""The stream file: one YAML file describes one stream (`host run STREAM.yaml`).

It names the stream, the merchant it sells for, where comments come from and where the
program goes, plus what a stream may choose for itself (responder, voices, avatar, pitches,
music, output preset, platform, brand, countdown, on-air window). Everything else comes from
settings as usual.

Secrets never sit in the file: a source's secret setting is given by the name of the
environment variable holding it (`token_env: BILIBILI_TOKEN`), and an RTMP ingest URL (its
stream key is a credential) by `url_env` or `url_file`. An error names the file, the line and
the field.
"""

from __future__ import annotations

import os
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from host.config import OutputPreset, Settings
from host.errors import HostError
from host.stream.platforms import Platform

SourceKind = Literal["replay", "websocket", "twitch", "twitch-irc", "youtube", "bilibili", "douyin"]

# The settings a source entry may set in lower case (bilibili room_id -> BILIBILI_ROOM_ID).
SETTING_PREFIX: dict[str, str] = {
    "twitch": "twitch_",
    "twitch-irc": "twitch_",
    "youtube": "youtube_",
    "bilibili": "bilibili_",
    "douyin": "douyin_",
    "websocket": "ingress_",
}


class StreamFileError(HostError):
    def __init__(self, path: Path, line: int | None, field: str, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")
        self.path, self.line, self.field, self.reason = path, line, field, reason


class UnknownKey(ValueError):
    """A source key this platform has no setting for; carries the key so the error's line is
    the key's own line."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(BaseModel):
    """One chat source; keys beside `kind` set that platform's settings for this stream."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: SourceKind
    path: Path | None = None  # replay: the comment file (default: the demo comments)

    @model_validator(mode="after")
    def _known_keys(self) -> SourceSpec:
        for key, value in (self.model_extra or {}).items():
            setting_of(self.kind, key, value)  # raises ValueError naming the key
        return self

    def overrides(self, stream: str, environ: dict[str, str]) -> dict[str, Any]:
        """Settings this entry sets, with `*_env` keys read from `environ` (KeyError if unset)."""
        out: dict[str, Any] = {}
        for key, value in (self.model_extra or {}).items():
            name, env = setting_of(self.kind, key, value)
            if env is not None:
                if env not in environ or not environ[env]:
                    raise KeyError(env)
                value = environ[env]
            if name == "ingress_tokens":
                value = {stream: SecretStr(value)}
            out[name] = as_env(value) if env is None else value
        return out


def setting_of(kind: str, key: str, value: Any) -> tuple[str, str | None]:
    """The settings field a source key sets, and the variable it reads when it is `*_env`."""
    prefix = SETTING_PREFIX.get(kind)
    env = key.endswith("_env")
    base = key[: -len("_env")] if env else key
    if kind == "websocket" and base == "token":
        name = "ingress_tokens"  # this stream's entry of INGRESS_TOKENS
    elif kind == "douyin" and base == "secret":
        name = "douyin_webhook_secret"
    else:
        name = f"{prefix}{base}" if prefix else ""
    field = Settings.model_fields.get(name)
    if prefix is None or field is None or field.annotation is None:
        raise UnknownKey(key, f"{kind} sources have no setting {key!r}")
    secret = name == "ingress_tokens" or "SecretStr" in str(field.annotation)
    if env:
        if not isinstance(value, str) or not value:
            raise UnknownKey(key, f"{key} must name an environment variable")
        return name, value
    if secret:
        raise UnknownKey(key, f"{key} is a secret: name its environment variable ({key}_env: VAR)")
    try:
        TypeAdapter(field.annotation).validate_python(as_env(value))
    except ValidationError as error:
        raise UnknownKey(key, f"{key}: {error.errors()[0]['msg']}") from None
    return name, None


def as_env(value: Any) -> Any:
    """A scalar as its environment form (room_id: 123 means BILIBILI_ROOM_ID=123)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


class SinkSpec(_Strict):
    kind: Literal["rtmp", "mp4", "hls"]
    url_env: str | None = None  # rtmp: the variable holding the ingest URL with its key
    url_file: Path | None = None  # rtmp: or a file holding it (one line)
    # Relative paths (here and in sources) are read from the folder `host run` runs in.
    path: Path | None = None  # mp4
    dir: Path | None = None  # hls

    @model_validator(mode="after")
    def _target(self) -> SinkSpec:
        given = {k for k in ("url_env", "url_file", "path", "dir") if getattr(self, k)}
        wanted = {"rtmp": {"url_env", "url_file"}, "mp4": {"path"}, "hls": {"dir"}}[self.kind]
        if len(given & wanted) != 1 or given - wanted:
            choices = ", ".join(sorted(wanted))
            raise ValueError(f"a {self.kind} sink takes exactly one of: {choices}")
        return self


class PitchSpec(_Strict):
    idle_s: float = Field(default=8.0, ge=0)  # 0 turns pitches off
    rotate_s: float = Field(default=60.0, ge=0)
    language: Literal["zh", "en"] = "zh"


class PromptsSpec(_Strict):
    """Which labels of the prompt library the stream speaks with: `a` alone, or an A/B test
    giving `ratio` of the replies and of the pitches to `b`."""

    a: str = Field(default="production", pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    b: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    ratio: float = Field(default=0.5, ge=0, le=1)


class VoiceSpec(_Strict):
    en: str | None = None
    zh: str | None = None


class OnAir(_Strict):
    """A daily window (local time of `timezone`); `end` before `start` runs past midnight."""

    start: time
    end: time
    timezone: str = "UTC"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        """YAML 1.1 reads an unquoted 20:00 as the base-60 number 1200: read it back."""
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return time(*divmod(value, 60))
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def seconds_to_start(self, now: datetime) -> float:
        """0 inside the window, else the seconds until it opens."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if self.contains(local.time()):
            return 0.0
        start = local.replace(hour=self.start.hour, minute=self.start.minute, second=0)
        delta = (start - local).total_seconds()
        return delta if delta > 0 else delta + 86400

    def seconds_left(self, now: datetime) -> float:
        local = now.astimezone(ZoneInfo(self.timezone))
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        delta = (end - local).total_seconds()
        return delta if delta > 0 else delta + 86400

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class BrandSpec(_Strict):
    """The merchant's look on screen: a logo beside the AI label, a colour for prices."""

    logo: Path | None = None
    colour: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")


class CountdownSpec(_Strict):
    """A timed promotion's end, counted down on screen (the catalog has no end times)."""

    until: AwareDatetime
    text: str | None = Field(default=None, min_length=1, max_length=40)


class StreamSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    merchant: Annotated[str, Field(min_length=1, max_length=100)]
    lineup: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = None
    sources: list[SourceSpec] = Field(min_length=1)
    sinks: list[SinkSpec] = Field(min_length=1)
    responder: Literal["auto", "catalog", "llm"] | None = None
    voices: VoiceSpec = VoiceSpec()
    avatar: str | None = None
    prompt_version: str | None = Field(default=None, max_length=64)
    prompts: PromptsSpec | None = None
    pitches: PitchSpec | None = None
    music: Path | None = None
    output: OutputPreset | None = None
    platform: Platform | None = None
    brand: BrandSpec | None = None
    countdown: CountdownSpec | None = None
    on_air: OnAir | None = None
    resume_max_age_s: float = Field(default=120.0, ge=0)  # after a crash, answer younger ones

    @field_validator("lineup")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("a product is listed twice")
        return value

    def settings_for(self, base: Settings, environ: dict[str, str] | None = None) -> Settings:
        """The stream's settings: `base` with what this file and its sources set."""
        environ = dict(os.environ) if environ is None else environ
        values: dict[str, Any] = {name: getattr(base, name) for name in Settings.model_fields}
        for source in self.sources:
            try:
                values |= merge_tokens(values, source.overrides(self.name, environ))
            except KeyError as missing:
                raise HostError(
                    f"stream {self.name}: environment variable {missing.args[0]} is not set"
                    f" (named by its {source.kind} source)"
                ) from None
        if self.responder is not None:
            values["responder"] = self.responder
        if self.voices.en is not None:
            values["voice_en"] = self.voices.en
        if self.voices.zh is not None:
            values["voice_zh"] = self.voices.zh
        if self.avatar is not None:
            values["avatar"] = self.avatar
        if self.pitches is not None:
            values["idle_pitch_s"] = self.pitches.idle_s
            values["pitch_rotate_s"] = self.pitches.rotate_s
            values["pitch_language"] = self.pitches.language
        if self.music is not None:
            values["music_path"] = self.music
        if self.output is not None:
            values["output_preset"] = self.output
        if self.platform is not None:
            values["platform"] = self.platform
        if self.brand is not None:
            values["brand_logo"] = self.brand.logo
            values["brand_colour"] = self.brand.colour or values["brand_colour"]
        if self.countdown is not None:
            values["countdown_until"] = self.countdown.until
            values["countdown_text"] = self.countdown.text or values["countdown_text"]
        return Settings.model_validate(values)

    def rtmp_url(self, sink: SinkSpec, environ: dict[str, str] | None = None) -> str:
        environ = dict(os.environ) if environ is None else environ
        if sink.url_file is not None:
            try:
                url = sink.url_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise HostError(f"stream {self.name}: cannot read url_file: {error}") from None
        else:
            assert sink.url_env is not None
            url = environ.get(sink.url_env, "").strip()
            if not url:
                raise HostError(
                    f"stream {self.name}: environment variable {sink.url_env} is not set"
                    " (the RTMP ingest URL with its stream key)"
                )
        if not url.startswith(("rtmp://", "rtmps://")):
            raise HostError(f"stream {self.name}: the RTMP ingest URL must start with rtmp(s)://")
        return url


def merge_tokens(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Ingress tokens add this stream's entry to INGRESS_TOKENS instead of replacing it."""
    if "ingress_tokens" in overrides:
        overrides["ingress_tokens"] = {**values["ingress_tokens"], **overrides["ingress_tokens"]}
    return overrides


def load_stream(path: Path) -> StreamSpec:
    """Read and validate a stream file; `StreamFileError` names the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StreamFileError(path, None, "", error.strerror or str(error)) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise StreamFileError(path, line, "", f"not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise StreamFileError(path, 1, "", "expected a mapping of stream settings")
    try:
        spec = StreamSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(first["loc"])
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, UnknownKey):
            loc += (cause.key,)
        message = first["msg"].removeprefix("Value error, ")
        raise StreamFileError(path, _line_of(root, loc), _dotted(loc), message) from None
    return spec


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest YAML node on `loc` (a key's line for a key that is wrong)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
