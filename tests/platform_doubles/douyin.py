"""Douyin's side of the live data push: builds signed POSTs exactly as the platform sends them.

Payloads follow the documented message shapes of `live_comment`, `live_gift`, `live_like`
and `live_fansclub` (a JSON array per push), with only ids and texts made parameters.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx

from host.chat.sources.douyin import douyin_signature


def comment(msg_id: str, openid: str, nickname: str, content: str) -> dict[str, Any]:
    return {"msg_id": msg_id, "sec_openid": openid, "content": content,
            "avatar_url": "https://p3.douyinpic.com/a.jpeg", "nickname": nickname,
            "timestamp": 1_700_000_000}  # fmt: skip


def gift(
    msg_id: str, openid: str, nickname: str, gift_id: str, num: int, value: int
) -> dict[str, Any]:
    return {"msg_id": msg_id, "sec_openid": openid, "sec_gift_id": gift_id, "gift_num": num,
            "gift_value": value, "avatar_url": "", "nickname": nickname,
            "timestamp": 1_700_000_000, "test": False}  # fmt: skip


def like(msg_id: str, openid: str, nickname: str, num: int) -> dict[str, Any]:
    return {"msg_id": msg_id, "sec_openid": openid, "like_num": num, "avatar_url": "",
            "nickname": nickname, "timestamp": 1_700_000_000}  # fmt: skip


def fansclub(msg_id: str, openid: str, nickname: str) -> dict[str, Any]:
    return {"msg_id": msg_id, "sec_openid": openid, "fansclub_reason_type": 2,
            "fansclub_level": 1, "avatar_url": "", "nickname": nickname,
            "timestamp": 1_700_000_000}  # fmt: skip


def signed(
    msg_type: str,
    body: bytes | list[dict[str, Any]],
    secret: str,
    room: str = "7300000000000000000",
    signature: str | None = None,
    sent_at: float | None = None,
) -> tuple[dict[str, str], bytes]:
    """One push's headers and body: `x-roomid`, `x-msg-type`, `x-nonce-str`, `x-timestamp`
    (milliseconds since the epoch; now unless `sent_at` says otherwise), `x-signature`."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {
        "content-type": "application/json",
        "x-roomid": room,
        "x-msg-type": msg_type,
        "x-nonce-str": secrets.token_hex(8),
        "x-timestamp": str(int((time.time() if sent_at is None else sent_at) * 1000)),
    }
    headers["x-signature"] = (
        douyin_signature(headers, raw, secret) if signature is None else signature
    )
    return headers, raw


async def push(
    http: httpx.AsyncClient,
    url: str,
    msg_type: str,
    body: bytes | list[dict[str, Any]],
    secret: str,
    room: str = "7300000000000000000",
    signature: str | None = None,
    sent_at: float | None = None,
) -> httpx.Response:
    """One signed push, as Douyin sends it."""
    headers, raw = signed(msg_type, body, secret, room, signature, sent_at)
    return await http.post(url, content=raw, headers=headers)
