"""`SOURCES`: chat source name (as settings and stream files say it) -> factory.

One line per backend. A factory gets what any source may need and checks the settings its
backend requires, so a missing token is a one-line error at start, not a silent empty chat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr

from host.chat.replay import ReplaySource
from host.chat.sources import Source
from host.chat.sources.bilibili import BilibiliSource, OpenPlatformApp
from host.chat.sources.douyin import DouyinWebhookSource
from host.chat.sources.twitch import TwitchEventSubSource, TwitchIrcSource
from host.chat.sources.websocket_ingress import IngressSource
from host.chat.sources.youtube import YouTubeChatSource
from host.config import Settings
from host.errors import HostError
from host.stream.clock import Clock


@dataclass(frozen=True)
class SourceContext:
    settings: Settings
    clock: Clock
    stream: str  # the session's stream name (ingress token key, replay room)
    ingress: IngressSource | None = None  # the stream's end of the web front's ingress bus
    douyin: DouyinWebhookSource | None = None  # the stream's end of the webhook's bus
    comments: Path | None = None  # replay file


T = TypeVar("T")
SourceFactory = Callable[[SourceContext], Source]


def _required(value: T | None, name: str) -> T:
    if value is None or value == "":
        raise HostError(f"{name} is not set (see .env.example)")
    return value


def _replay(ctx: SourceContext) -> Source:
    path = ctx.comments or ctx.settings.products_dir / "demo" / "comments.jsonl"
    return ReplaySource(path, ctx.clock, room=ctx.stream)


def _ingress(ctx: SourceContext) -> Source:
    if ctx.stream not in ctx.settings.ingress_tokens:
        raise HostError(f"no INGRESS_TOKENS entry for stream {ctx.stream!r}")
    source = ctx.ingress or IngressSource(ctx.stream, ctx.clock, ctx.settings.ingress_queue_size)
    source.clock = ctx.clock  # comments are stamped on the session's clock
    return source


def _twitch(ctx: SourceContext) -> Source:
    s = ctx.settings
    token: SecretStr = _required(s.twitch_user_token, "TWITCH_USER_TOKEN")
    return TwitchEventSubSource(
        clock=ctx.clock,
        client_id=_required(s.twitch_client_id, "TWITCH_CLIENT_ID"),
        token=token,
        broadcaster_id=_required(s.twitch_broadcaster_id, "TWITCH_BROADCASTER_ID"),
        user_id=_required(s.twitch_user_id, "TWITCH_USER_ID"),
        eventsub_url=s.twitch_eventsub_url,
        helix_url=s.twitch_helix_url,
        keepalive_s=s.twitch_keepalive_s,
    )


def _twitch_irc(ctx: SourceContext) -> Source:
    return TwitchIrcSource(
        clock=ctx.clock,
        channel=_required(ctx.settings.twitch_channel, "TWITCH_CHANNEL"),
        irc_url=ctx.settings.twitch_irc_url,
    )


def _youtube(ctx: SourceContext) -> Source:
    s = ctx.settings
    return YouTubeChatSource(
        clock=ctx.clock,
        api_key=_required(s.youtube_api_key, "YOUTUBE_API_KEY"),
        live_chat_id=_required(s.youtube_live_chat_id, "YOUTUBE_LIVE_CHAT_ID"),
        api_url=s.youtube_api_url,
    )


def _bilibili(ctx: SourceContext) -> Source:
    s = ctx.settings
    app = None
    if s.bilibili_app_id is not None:
        app = OpenPlatformApp(
            app_id=s.bilibili_app_id,
            access_key_id=_required(s.bilibili_access_key_id, "BILIBILI_ACCESS_KEY_ID"),
            access_key_secret=_required(s.bilibili_access_key_secret, "BILIBILI_ACCESS_KEY_SECRET"),
            code=_required(s.bilibili_code, "BILIBILI_CODE"),
            api_url=s.bilibili_open_api_url,
        )
    else:
        _required(s.bilibili_room_id, "BILIBILI_ROOM_ID")
    return BilibiliSource(
        clock=ctx.clock,
        room_id=s.bilibili_room_id,
        uid=s.bilibili_uid,
        token=s.bilibili_token,
        ws_url=s.bilibili_ws_url,
        app=app,
    )


def _douyin(ctx: SourceContext) -> Source:
    _required(ctx.settings.douyin_webhook_secret, "DOUYIN_WEBHOOK_SECRET")
    source = ctx.douyin or DouyinWebhookSource(max_skew_s=ctx.settings.douyin_max_skew_s)
    source.clock = ctx.clock  # comments are stamped on the session's clock
    return source


SOURCES: dict[str, SourceFactory] = {
    "replay": _replay,
    "websocket": _ingress,
    "twitch": _twitch,
    "twitch-irc": _twitch_irc,
    "youtube": _youtube,
    "bilibili": _bilibili,
    "douyin": _douyin,
}
