"""Every chat backend is registered by name and refuses to start without its settings."""

from __future__ import annotations

import pytest

from host.chat.sources.registry import SOURCES, SourceContext
from host.config import Settings
from host.errors import HostError
from host.stream.clock import WallClock

NEEDS = {
    "twitch": "TWITCH_USER_TOKEN",
    "twitch-irc": "TWITCH_CHANNEL",
    "youtube": "YOUTUBE_API_KEY",
    "bilibili": "BILIBILI_ROOM_ID",
    "douyin": "DOUYIN_WEBHOOK_SECRET",
    "websocket": "INGRESS_TOKENS",
}


def test_every_platform_is_registered() -> None:
    assert set(SOURCES) >= {"replay", *NEEDS}


@pytest.mark.parametrize(("name", "setting"), sorted(NEEDS.items()))
def test_missing_settings_are_a_one_line_error(name: str, setting: str) -> None:
    ctx = SourceContext(settings=Settings(_env_file=None), clock=WallClock(), stream="main")  # type: ignore[call-arg]
    with pytest.raises(HostError) as error:
        SOURCES[name](ctx)
    assert setting in str(error.value)


def test_replay_needs_nothing() -> None:
    ctx = SourceContext(settings=Settings(_env_file=None), clock=WallClock(), stream="main")  # type: ignore[call-arg]
    source = SOURCES["replay"](ctx)
    assert source.name == "replay" and source.health.state == "connected"
