"""All settings in one place, read from the environment and `.env` (see `.env.example`).

Nothing else in the package reads `os.environ`: a `Settings` object is built once by the
CLI (or a test) and passed down, so two sessions in one process can differ.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from host.stream.platforms import Platform, orientation_of, orientations

REPO_ROOT = Path(__file__).resolve().parent.parent

OutputPreset = Literal["portrait", "landscape", "portrait-1080p", "landscape-1080p"]
OUTPUT_SIZES: dict[str, tuple[int, int]] = {
    "portrait": (720, 1280),
    "landscape": (1280, 720),
    "portrait-1080p": (1080, 1920),
    "landscape-1080p": (1920, 1080),
}


def without_credentials(url: str) -> str:
    """`url` without its password, query and fragment (where tokens and keys travel)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return "***"
    if password:
        url = url.replace(f":{password}@", ":***@", 1)
    url = url.split("#", 1)[0]
    return url.split("?", 1)[0] + "?***" if "?" in url else url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # storage
    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'livehost.db'}",
        description="SQLAlchemy URL; postgresql+psycopg://... for PostgreSQL",
    )
    var_dir: Path = Field(default=REPO_ROOT / "var", description="runtime files (db, caches)")

    # demo inputs
    products_dir: Path = Field(default=REPO_ROOT / "products", description="demo catalog folder")
    prompts_dir: Path = Field(default=REPO_ROOT / "prompts", description="prompt templates")
    demo_merchant: str = Field(default="demo", description="merchant name of the demo catalog")
    avatar: str | None = Field(
        default=None,
        description="avatar to wear, from host avatar create (unset: the illustrated host)",
    )
    host_look: Literal["auto", "female", "male"] = Field(
        default="auto",
        description="the built-in illustrated host when AVATAR is unset: female, male, or auto"
        " (matches the bundled voices, which are male); `host avatar list` shows them",
    )

    # catalog imports: what one uploaded file may cost before it is refused
    catalog_max_file_mb: float = Field(
        default=32.0, description="largest catalog file accepted (CSV, XLSX or JSON), MB"
    )
    catalog_max_unzipped_mb: float = Field(
        default=256.0, description="largest an XLSX catalog may unpack to, MB"
    )
    catalog_max_rows: int = Field(default=200_000, description="most rows in one catalog file")
    catalog_max_columns: int = Field(default=300, description="most columns in one catalog file")
    catalog_max_cell_chars: int = Field(
        default=10_000, description="longest cell in a catalog file, characters"
    )
    catalog_max_attributes: int = Field(
        default=50, description="most attributes (extra columns) one product may have"
    )
    catalog_max_attribute_chars: int = Field(
        default=1_000, description="longest attribute name or value, characters"
    )
    catalog_max_seconds: float = Field(
        default=120.0, description="longest one catalog import may take before it is refused, s"
    )
    catalog_max_photo_mb: float = Field(
        default=10.0, description="largest product photo file copied into the media store, MB"
    )
    catalog_max_photo_pixels: int = Field(
        default=40_000_000, description="most pixels a product photo may decode to"
    )

    # program
    fps: int = Field(default=25, description="program frame rate")
    width: int = Field(default=720, description="output width in pixels")
    height: int = Field(default=1280, description="output height in pixels")
    audio_rate: int = Field(default=48000, description="program audio sample rate")
    video_bitrate: int = Field(default=2_500_000, description="H.264 bitrate, bits/s")
    audio_bitrate: int = Field(default=128_000, description="AAC bitrate, bits/s")
    x264_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = Field(
        default="superfast",
        description="x264 speed preset; superfast keeps veryfast's quality at the program's"
        " bitrate for less CPU (bench/encode_settings.py)",
    )
    x264_threads: int = Field(
        default=1,
        ge=0,
        description="x264 threads per session; 1 suits many sessions per machine,"
        " 0 = x264's choice (1.5 per core)",
    )
    hls_segment_seconds: float = Field(default=2.0, description="HLS segment length")
    ai_label_text: str = Field(default="AI-generated host · AI生成", description="disclosure label")
    ai_label_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = Field(
        default="top-left", description="where the disclosure label sits"
    )
    noncompliant_hide_ai_label: bool = Field(
        default=False, description="hide the AI disclosure label (non-compliant on most platforms)"
    )

    # stream output (sizes, RTMP push)
    output_preset: OutputPreset | None = Field(
        default=None,
        description="output size preset: portrait, landscape, portrait-1080p, landscape-1080p"
        " (overrides WIDTH and HEIGHT)",
    )
    platform: Platform = Field(
        default="douyin",
        description="where the stream is watched: douyin, kuaishou, taobao, bilibili, twitch,"
        " youtube, or none (a recording); the layers keep clear of that app's own buttons",
    )
    brand_logo: Path | None = Field(
        default=None,
        description="the merchant's logo (PNG with transparency, or JPEG), shown beside the AI"
        " label; unset = no logo",
    )
    brand_colour: str = Field(
        default="#FF4D4F",
        pattern=r"^#[0-9A-Fa-f]{6}$",
        description="the merchant's colour as #RRGGBB: showcase price, link badge, countdown",
    )
    countdown_until: datetime | None = Field(
        default=None,
        description="end of a timed promotion (ISO time with its zone); a countdown shows until"
        " then; unset = none",
    )
    countdown_text: str = Field(
        default="限时优惠 Deal ends in", description="words before the countdown's time"
    )
    video_bitrate_1080p: int = Field(
        default=4_500_000, description="H.264 CBR bitrate for 1080p sizes, bits/s"
    )
    rtmp_queue_packets: int = Field(
        default=500, description="RTMP packets buffered while the ingest is slow (about 8 s)"
    )
    rtmp_reconnect_min_s: float = Field(
        default=0.5, description="first wait before reconnecting to a dropped RTMP ingest"
    )
    rtmp_reconnect_max_s: float = Field(
        default=10.0, description="longest wait between RTMP reconnect attempts"
    )
    rtmp_stall_s: float = Field(
        default=5.0,
        gt=0,
        description="seconds an RTMP send may make no progress before the connection is cut",
    )
    rtmp_max_connection_h: float = Field(
        default=47.5,
        ge=0,
        description="hours after which the RTMP push reconnects by itself at a keyframe, before"
        " the platform ends the broadcast (Twitch: 48 h); 0 = never",
    )
    music_path: Path | None = Field(
        default=None,
        description="background music file, looped under the host (any format FFmpeg reads);"
        " unset = no music",
    )
    music_level_db: float = Field(
        default=-18.0, description="music level relative to the file's own, dB"
    )
    music_duck_db: float = Field(
        default=-12.0, description="how much lower the music plays while the host speaks, dB"
    )
    music_ramp_s: float = Field(
        default=0.3, description="seconds the music takes to duck under speech and come back"
    )

    @field_validator(
        "music_path",
        "piper_model_en",
        "piper_model_zh",
        "brand_logo",
        "countdown_until",
        "sadtalker_dir",
        "sadtalker_checkpoints",
        "log_dir",
        "ssl_certfile",
        "ssl_keyfile",
        mode="before",
    )
    @classmethod
    def _empty_path_is_none(cls, value: object) -> object:
        """`MUSIC_PATH=` (as in .env.example) means unset, not the current folder."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _apply_output_preset(self) -> Settings:
        """A preset names a whole output size, so WIDTH and HEIGHT cannot disagree with it."""
        if self.output_preset is not None:
            self.width, self.height = OUTPUT_SIZES[self.output_preset]
        shape, shapes = orientation_of(self.width, self.height), orientations(self.platform)
        if shape not in shapes:
            raise ValueError(
                f"PLATFORM={self.platform} has no {shape} live room: set OUTPUT_PRESET to"
                f" {' or '.join(shapes)}, or another PLATFORM"
            )
        return self

    @property
    def stream_video_bitrate(self) -> int:
        """The CBR rate for the output size: platforms expect more bits at 1080p."""
        if min(self.width, self.height) >= 1080:
            return self.video_bitrate_1080p
        return self.video_bitrate

    # voice
    voice_en: str = Field(default="piper", description="TTS backend for English")
    voice_zh: str = Field(default="espeak", description="TTS backend for Chinese")
    piper_model_en: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("piper_model_en", "piper_model"),
        description="Piper .onnx voice for English (bundled en_US voice if unset;"
        " PIPER_MODEL is the old name)",
    )
    piper_model_zh: Path | None = Field(
        default=None,
        description="Piper .onnx voice for Chinese, read when VOICE_ZH=piper"
        " (a zh_CN voice from huggingface.co/rhasspy/piper-voices, .onnx.json beside it)",
    )
    tts_openai_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible TTS API base URL (OPENAI_BASE_URL, then OpenAI, if unset)",
    )
    tts_openai_api_key: SecretStr | None = Field(
        default=None, description="API key for the TTS endpoint (OPENAI_API_KEY if unset)"
    )
    tts_openai_model: str = Field(default="gpt-4o-mini-tts", description="OpenAI TTS model name")
    tts_openai_voice_en: str = Field(default="alloy", description="OpenAI TTS voice for English")
    tts_openai_voice_zh: str = Field(default="alloy", description="OpenAI TTS voice for Chinese")
    tts_openai_format: Literal["pcm", "wav"] = Field(
        default="pcm",
        description="audio the TTS server is asked for: pcm (OpenAI's raw 24 kHz) or wav"
        " (rate read from its header: CosyVoice 1 at 22050 Hz, servers without raw pcm)",
    )
    tts_openai_timeout_s: float = Field(
        default=10.0, description="OpenAI TTS request timeout before falling back, seconds"
    )
    tts_cache: bool = Field(
        default=True, description="keep synthesized sentences on disk and replay repeats"
    )
    tts_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="how much less urgent TTS is than the program's frames"
        " (Linux niceness added; 0 = same priority)",
    )
    tts_process: bool = Field(
        default=True,
        description="synthesize in a process of its own, so TTS never holds the GIL the"
        " frames need (false: threads in the session's process)",
    )
    tts_cache_max_mb: int = Field(
        default=512, description="TTS cache size limit, MB (least recently used go first)"
    )
    coqui_model_dir: Path | None = Field(
        default=None, description="Coqui TTS model folder (checkpoint + config.json)"
    )
    coqui_speaker: str | None = Field(
        default=None, description="voice profile (host voice create) that XTTS speaks with"
    )
    coqui_language_zh: str = Field(
        default="zh-cn", description="the Coqui model's language code for Chinese"
    )

    # face: SadTalker worker (a local checkout and checkpoints; nothing is downloaded)
    sadtalker_dir: Path | None = Field(
        default=None, description="SadTalker checkout folder; unset = SadTalker off"
    )
    sadtalker_checkpoints: Path | None = Field(
        default=None,
        description="SadTalker checkpoints folder (SADTALKER_DIR/checkpoints if unset)",
    )
    sadtalker_python: str = Field(
        default="python3", description="Python that has SadTalker's dependencies (runs the worker)"
    )
    sadtalker_timeout_s: float = Field(
        default=120.0,
        description="longest one SadTalker clip may take before falling back, seconds",
    )
    sadtalker_load_timeout_s: float = Field(
        default=300.0,
        description="longest the SadTalker worker may take to load its models, seconds",
    )
    sadtalker_size: Literal[256, 512] = Field(
        default=256, description="SadTalker face render size (256 or 512)"
    )
    sadtalker_preprocess: Literal["crop", "extcrop", "resize", "full", "extfull"] = Field(
        default="crop",
        description="SadTalker preprocess mode: crop, extcrop, resize, full, extfull",
    )
    sadtalker_device: str = Field(
        default="auto", description="torch device for SadTalker: auto, cuda, cuda:1, cpu"
    )

    # live sessions (host run, host serve)
    streams_dir: Path = Field(
        default=REPO_ROOT / "streams", description="stream files host serve may start by name"
    )
    catalog_refresh_s: float = Field(
        default=1.0, description="seconds between catalog snapshot refreshes during a stream"
    )
    audit_journal_max_mb: int = Field(
        default=256, description="audit journal size limit while the database is away, MB"
    )
    log_dir: Path | None = Field(
        default=None, description="JSON log folder for host run (var/logs if unset)"
    )
    log_max_mb: int = Field(default=20, description="size of one JSON log file before rotation")
    log_backups: int = Field(default=10, description="rotated JSON log files kept")

    # many streams on many machines (host run --cluster, host serve's sessions on Ray)
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis for the comment bus, redis://:PASSWORD@HOST:PORT/0"
        " (unset: comments stay in this process)",
    )
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster host serve starts streams on, ray://HOST:PORT"
        " (unset: in its own process)",
    )
    ray_auth_token: SecretStr | None = Field(
        default=None, description="token of the Ray cluster (the one its nodes were started with)"
    )
    cluster_namespace: str = Field(
        default="livehost", description="Ray namespace of the stream actors"
    )
    cluster_max_restarts: int = Field(
        default=-1,
        ge=-1,
        description="restarts of a stream's actor after a crash or a lost node (-1: no limit)",
    )
    lease_renew_s: float = Field(
        default=0.5, gt=0, description="seconds between renewals of a session's lease"
    )
    cluster_standby: bool = Field(
        default=True,
        description="keep a built standby session of each stream on another node, so a lost"
        " one is replaced in seconds rather than rebuilt",
    )
    standby_after_s: float = Field(
        default=1.5,
        gt=0,
        description="a standby takes over a lease not renewed this long (a few LEASE_RENEW_S)",
    )
    lease_lapse_s: float = Field(
        default=10.0,
        gt=0,
        description="a clustered session that cannot renew its lease this long stops its sinks",
    )
    render_pool: str | None = Field(
        default=None,
        description="Ray Serve app that draws the speech of streams on the cluster (host pool"
        " deploy starts it; unset: each session draws its own)",
    )
    render_pool_chunk: int = Field(
        default=10, gt=0, description="frames the render pool draws per call"
    )
    render_pool_ahead: int = Field(
        default=3, gt=0, description="chunks asked of the render pool ahead of the frame on air"
    )
    render_pool_timeout_s: float = Field(
        default=2.0, gt=0, description="a chunk not back from the render pool this long is given up"
    )
    render_pool_retry_s: float = Field(
        default=5.0,
        gt=0,
        description="after three chunks in a row came too late, seconds the session draws alone",
    )
    render_pool_replicas: int = Field(
        default=1, gt=0, description="replicas host pool deploy starts"
    )
    render_pool_gpus: float = Field(
        default=0.0, ge=0, description="GPUs per render pool replica (0: it draws on a CPU)"
    )

    # accounts and the web front (host serve, host run)
    session_lifetime_h: float = Field(
        default=12.0, gt=0, description="hours a console sign-in lasts before signing in again"
    )
    session_cookie: str = Field(
        default="livehost_session",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="name of the console's session cookie",
    )
    login_max_failures: int = Field(
        default=5,
        gt=0,
        description="failed sign-ins per user name, and per client address, before a pause",
    )
    login_window_s: float = Field(
        default=300.0, gt=0, description="seconds failed sign-ins are counted over (the pause)"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="bearer token /metrics asks for (unset: /metrics is open, like /health)",
    )
    ssl_certfile: Path | None = Field(
        default=None, description="TLS certificate (PEM) for host serve and host run"
    )
    ssl_keyfile: Path | None = Field(
        default=None, description="TLS private key (PEM) for host serve and host run"
    )
    behind_proxy: bool = Field(
        default=False,
        description="TLS ends at a reverse proxy: trust its X-Forwarded-Proto and -For headers",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="with BEHIND_PROXY: addresses of the proxy whose X-Forwarded headers are"
        " trusted (comma-separated, or *)",
    )

    # triage / reply
    queue_size: int = Field(default=64, description="triaged comments waiting for an answer")
    viewer_cooldown_s: float = Field(
        default=3.0, description="seconds between two items of one viewer"
    )
    approve_timeout_s: float = Field(
        default=20.0,
        gt=0,
        le=50,  # under the reply stage's stall watchdog (60 s), which would restart the wait
        description="seconds a reply waits for an operator in approve-before-speaking mode",
    )
    approve_timeout_action: Literal["discard", "speak"] = Field(
        default="discard",
        description="what an unanswered reply does after APPROVE_TIMEOUT_S: discard or speak",
    )
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible API base URL")
    openai_api_key: SecretStr | None = Field(default=None, description="API key for that endpoint")
    openai_model: str = Field(default="gpt-4o-mini", description="chat model name")
    eval_judge_api_key: SecretStr | None = Field(
        default=None, description="API key of the LLM judge of `host prompts eval --judge-url`"
    )

    # chat sources: websocket ingress, Twitch, YouTube
    ingress_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='websocket ingress tokens per stream, JSON: {"STREAM": "TOKEN"}',
    )
    ingress_max_frame_bytes: int = Field(
        default=16_384, description="largest websocket ingress frame accepted, bytes"
    )
    ingress_queue_size: int = Field(
        default=1000, description="ingress comments buffered per stream before senders hear busy"
    )
    ingress_max_connections: int = Field(
        default=200, gt=0, description="ingress sockets open at once, authenticated or not"
    )
    ingress_max_per_stream: int = Field(
        default=8, gt=0, description="authenticated ingress bridges one stream may have at once"
    )
    ingress_auth_timeout_s: float = Field(
        default=5.0, gt=0, description="seconds a new ingress socket has to authenticate"
    )
    ingress_auth_failures: int = Field(
        default=10,
        gt=0,
        description="per client address: sockets authenticating + failed auths in the last minute",
    )
    twitch_client_id: str | None = Field(default=None, description="Twitch app client id")
    twitch_user_token: SecretStr | None = Field(
        default=None, description="Twitch user access token (user:read:chat) for EventSub"
    )
    twitch_broadcaster_id: str | None = Field(
        default=None, description="Twitch user id of the channel to read (EventSub)"
    )
    twitch_user_id: str | None = Field(
        default=None, description="Twitch user id the token belongs to (EventSub)"
    )
    twitch_channel: str | None = Field(
        default=None, description="Twitch channel login for anonymous IRC reading"
    )
    twitch_eventsub_url: str = Field(
        default="wss://eventsub.wss.twitch.tv/ws", description="Twitch EventSub WebSocket URL"
    )
    twitch_helix_url: str = Field(
        default="https://api.twitch.tv/helix", description="Twitch Helix API base URL"
    )
    twitch_irc_url: str = Field(
        default="wss://irc-ws.chat.twitch.tv:443", description="Twitch IRC WebSocket URL"
    )
    twitch_keepalive_s: int = Field(
        default=30, description="EventSub keepalive timeout asked of Twitch, seconds (10-600)"
    )
    youtube_api_key: SecretStr | None = Field(default=None, description="YouTube Data API key")
    youtube_live_chat_id: str | None = Field(
        default=None, description="liveChatId of the broadcast to read"
    )
    youtube_api_url: str = Field(
        default="https://www.googleapis.com/youtube/v3", description="YouTube Data API base URL"
    )

    # LLM responder, guard fallback and idle pitches
    responder: Literal["auto", "catalog", "llm"] = Field(
        default="auto",
        description="who writes replies; auto = the LLM when OPENAI_BASE_URL or a key is set",
    )
    llm_temperature: float = Field(default=0.4, description="LLM sampling temperature")
    llm_timeout_s: float = Field(default=20.0, description="LLM request timeout, seconds")
    llm_first_sentence_s: float = Field(
        default=2.5, description="deadline for the LLM's first sentence before the fallback speaks"
    )
    llm_next_sentence_s: float = Field(
        default=3.0,
        gt=0,
        description="deadline for each later LLM sentence before a closing line ends the reply",
    )
    llm_reply_budget_s: float = Field(
        default=15.0,
        gt=0,
        description="seconds one reply may spend waiting on the LLM in all before it is closed",
    )
    llm_breaker_failures: int = Field(
        default=3, description="LLM failures in a row that open the circuit breaker"
    )
    llm_breaker_cooldown_s: float = Field(
        default=60.0, description="seconds the LLM is skipped once the breaker is open"
    )
    llm_history: int = Field(default=3, description="earlier exchanges included in the prompt")
    sentence_max_chars: int = Field(
        default=80, description="longest sentence handed to TTS before it is cut"
    )
    idle_pitch_s: float = Field(
        default=8.0, description="seconds with nothing queued before a pitch; 0 turns pitches off"
    )
    pitch_rotate_s: float = Field(
        default=60.0,
        description="seconds pitches stay on one lineup product; 0 = pitch the product on screen",
    )
    pitch_language: Literal["zh", "en"] = Field(default="zh", description="language of pitches")

    # chat sources: Bilibili (web room or open platform), Douyin webhook
    bilibili_room_id: str = Field(default="", description="Bilibili live room id (web room)")
    bilibili_uid: int = Field(
        default=0, description="Bilibili uid the web room listener logs in as"
    )
    bilibili_token: SecretStr | None = Field(
        default=None, description="Bilibili danmaku key (getDanmuInfo token) for the web room"
    )
    bilibili_ws_url: str = Field(
        default="wss://broadcastlv.chat.bilibili.com/sub", description="Bilibili danmaku websocket"
    )
    bilibili_app_id: int | None = Field(
        default=None, description="Bilibili open-platform app id (uses the open platform when set)"
    )
    bilibili_access_key_id: str | None = Field(
        default=None, description="Bilibili open-platform access key id"
    )
    bilibili_access_key_secret: SecretStr | None = Field(
        default=None, description="Bilibili open-platform access key secret"
    )
    bilibili_code: SecretStr | None = Field(
        default=None, description="streamer's Bilibili identity code (身份码) for the open platform"
    )
    bilibili_open_api_url: str = Field(
        default="https://live-open.biliapi.com", description="Bilibili open-platform API base URL"
    )
    douyin_webhook_secret: SecretStr | None = Field(
        default=None, description="Douyin live data push secret (webhook signatures)"
    )
    douyin_max_skew_s: float = Field(
        default=300.0,
        gt=0,
        description="Douyin pushes stamped more than this many seconds old or ahead are refused",
    )

    def stored(self) -> dict[str, Any]:
        """The settings as a session row keeps them: every secret and password hidden."""
        values: dict[str, Any] = json.loads(self.model_dump_json())
        for name, value in values.items():
            if isinstance(value, str) and "://" in value:
                values[name] = without_credentials(value)
        values["ingress_tokens"] = sorted(self.ingress_tokens)  # which streams, not the tokens
        return values

    @property
    def llm_configured(self) -> bool:
        """Whether replies come from the LLM (an endpoint is set and the catalog is not forced)."""
        if self.responder == "catalog":
            return False
        return self.responder == "llm" or bool(self.openai_base_url or self.openai_api_key)
