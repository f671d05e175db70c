"""All settings in one place, read from the environment and `.env` (see `.env.example`).

Nothing else in the package reads `os.environ`: a `Settings` object is built once by the
CLI (or a test) and passed down, so two sessions in one process can differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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

    # program
    fps: int = Field(default=25, description="program frame rate")
    width: int = Field(default=720, description="output width in pixels")
    height: int = Field(default=1280, description="output height in pixels")
    audio_rate: int = Field(default=48000, description="program audio sample rate")
    video_bitrate: int = Field(default=2_500_000, description="H.264 bitrate, bits/s")
    audio_bitrate: int = Field(default=128_000, description="AAC bitrate, bits/s")
    hls_segment_seconds: float = Field(default=2.0, description="HLS segment length")
    ai_label_text: str = Field(default="AI-generated host · AI生成", description="disclosure label")
    ai_label_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = Field(
        default="top-left", description="where the disclosure label sits"
    )
    noncompliant_hide_ai_label: bool = Field(
        default=False, description="hide the AI disclosure label (non-compliant on most platforms)"
    )

    # voice
    voice_en: str = Field(default="piper", description="TTS backend for English")
    voice_zh: str = Field(default="espeak", description="TTS backend for Chinese")
    piper_model: Path | None = Field(
        default=None, description="Piper .onnx voice path (bundled voice if unset)"
    )

    # triage / reply
    queue_size: int = Field(default=64, description="triaged comments waiting for an answer")
    viewer_cooldown_s: float = Field(
        default=3.0, description="seconds between two items of one viewer"
    )
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible API base URL")
    openai_api_key: SecretStr | None = Field(default=None, description="API key for that endpoint")
    openai_model: str = Field(default="gpt-4o-mini", description="chat model name")
