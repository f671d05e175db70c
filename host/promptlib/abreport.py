"""The A/B report of a stream: per prompt version, what it said and what the room did.

Every spoken line's audit row names its release (`label#id`). A line holds the air from
the moment it was spoken until the next line, at most `hold_s` (a line spoken before a
long silence is not credited with what happens ten minutes later); what the room does in
that time (comments, gifts, likes, follows, entries from the platform events) and the
orders of the merchant's export placed in it are credited to the line's version. Rates
are per minute of that version's air time, so a 30% arm is compared fairly with a 70% one.

GPM is the platform's figure: GMV per thousand viewers entering the room (Douyin's 千次观看
成交金额), counted from the room's `enter` events; without them it is left out.
"""

from __future__ import annotations

import csv
import io
import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from host.db.models import CommentRecord, ReplyRecord, StreamSession
from host.errors import HostError
from host.promptlib.evaluate import CHARS_PER_S, percentile
from host.reply.guard import Guard

HOLD_S = 120.0
NO_VERSION = "(prompt files)"  # lines spoken before the library was used
ROOM_KINDS = ("chat", "gift", "superchat", "like", "follow", "enter")
FACT_KINDS = frozenset({"price", "stock", "percentage", "link"})

# Column names of the order exports merchants download, first match wins.
TIME_COLUMNS = (
    "订单提交时间", "下单时间", "订单创建时间", "创建时间", "支付时间", "付款时间",
    "time", "order_time", "created_at", "paid_at",
)  # fmt: skip
SKU_COLUMNS = (
    "商家编码", "商品编码", "商品编码(自定义)", "外部编码", "SKU编码", "sku", "SKU", "商品ID",
)  # fmt: skip
AMOUNT_COLUMNS = (
    "订单应付金额", "实付金额", "买家实际支付金额", "实收款", "支付金额", "订单金额", "amount",
    "total",
)  # fmt: skip
STATUS_COLUMNS = ("订单状态", "status")
CANCELLED = ("关闭", "取消", "退款成功", "cancel", "refund")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")


@dataclass(frozen=True)
class Order:
    at: datetime  # UTC
    sku: str
    amount: Decimal


@dataclass(frozen=True)
class OrderExport:
    orders: tuple[Order, ...]
    cancelled: int  # rows left out because the order was closed or refunded


@dataclass
class VersionStats:
    version: str
    lines: int = 0
    replies: int = 0
    pitches: int = 0
    clean_lines: int = 0  # lines no number-checking rule had to stop a draft of
    guard_stops: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    speaking_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    air_s: float = 0.0
    room: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    gmv: Decimal = Decimal(0)

    def as_json(self) -> dict[str, Any]:
        minutes = self.air_s / 60
        per_min = (lambda n: round(n / minutes, 3)) if minutes else (lambda n: None)
        entries = self.room.get("enter", 0)
        return {
            "version": self.version,
            "lines": self.lines,
            "comments_answered": self.replies,
            "pitches": self.pitches,
            "facts_correct": round(self.clean_lines / self.lines, 4) if self.lines else None,
            "guard_stops": dict(sorted(self.guard_stops.items())),
            "repeats": self.repeats,
            "speaking_s": round(self.speaking_s, 1),
            "latency_p50_ms": round(percentile(self.latencies_ms, 0.5), 1),
            "latency_p95_ms": round(percentile(self.latencies_ms, 0.95), 1),
            "mean_latency_ms": (
                round(statistics.fmean(self.latencies_ms), 1) if self.latencies_ms else None
            ),
            "air_minutes": round(minutes, 2),
            "room_per_minute": {k: per_min(self.room.get(k, 0)) for k in ROOM_KINDS},
            "orders": self.orders,
            "gmv": str(self.gmv),
            "orders_per_minute": per_min(self.orders),
            "gmv_per_minute": per_min(float(self.gmv)),
            "gpm": round(float(self.gmv) * 1000 / entries, 2) if entries else None,
        }


def _column(header: Sequence[str], names: Iterable[str], what: str, path: Path) -> int | None:
    cleaned = [h.strip().lstrip("\ufeff") for h in header]
    for name in names:
        if name in cleaned:
            return cleaned.index(name)
    if what == "":
        return None
    raise HostError(f"{path}: no {what} column (one of: {', '.join(names)})")


def _decode(raw: bytes, path: Path) -> str:
    """Douyin exports are UTF-8 (often with a BOM); Taobao's are often GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise HostError(f"{path}: neither UTF-8 nor GBK text")


def _time(value: str, tz: ZoneInfo) -> datetime | None:
    text = value.strip().strip("\t")
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)


def read_orders(path: Path, tz: str = "Asia/Shanghai") -> OrderExport:
    """A Douyin shop or Taobao order export (CSV: time, SKU, amount; other columns ignored).
    Times without a zone are the shop's local time `tz`. A bad row fails with its number."""
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        raise HostError(f"unknown time zone {tz!r}") from None
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise HostError(f"{path}: {error.strerror or error}") from None
    rows = list(csv.reader(io.StringIO(_decode(raw, path))))
    if not rows:
        raise HostError(f"{path}: empty")
    header = rows[0]
    at = _column(header, TIME_COLUMNS, "order time", path)
    sku = _column(header, SKU_COLUMNS, "SKU", path)
    amount = _column(header, AMOUNT_COLUMNS, "amount", path)
    status = _column(header, STATUS_COLUMNS, "", path)
    orders, cancelled = [], 0
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if status is not None and any(word in row[status] for word in CANCELLED):
            cancelled += 1
            continue
        assert at is not None and sku is not None and amount is not None
        when = _time(row[at], zone) if at < len(row) else None
        if when is None:
            raise HostError(f"{path} row {n}: order time {row[at] if at < len(row) else ''!r}")
        try:
            value = Decimal(row[amount].strip().lstrip("¥￥").replace(",", ""))
        except (InvalidOperation, IndexError):
            raise HostError(f"{path} row {n}: amount is not a number") from None
        orders.append(Order(when, row[sku].strip().strip("\t"), value))
    return OrderExport(tuple(sorted(orders, key=lambda o: o.at)), cancelled)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ab_report(
    engine: Engine,
    stream: str,
    guard: Guard,
    exports: Sequence[OrderExport] = (),
    *,
    hold_s: float = HOLD_S,
) -> list[dict[str, Any]]:
    """Per prompt version of every session of `stream`: its lines, the guard's stops, the
    room and the orders credited to it (module docstring)."""
    with Session(engine) as s:
        sessions = {
            row.id: _aware(row.started_at)
            for row in s.scalars(select(StreamSession).where(StreamSession.name == stream))
        }
        if not sessions:
            raise HostError(f"no session of stream {stream!r} in the audit log")
        lines = list(
            s.scalars(
                select(ReplyRecord)
                .where(ReplyRecord.session_id.in_(sessions))
                .order_by(ReplyRecord.created_at, ReplyRecord.id)
            )
        )
        events = [
            (sessions[c.session_id] + timedelta(seconds=c.received_at), c.kind)
            for c in s.scalars(select(CommentRecord).where(CommentRecord.session_id.in_(sessions)))
        ]
    stats: dict[str, VersionStats] = {}
    said: defaultdict[str, set[tuple[int, str]]] = defaultdict(set)
    starts: list[datetime] = []
    holders: list[tuple[datetime, str]] = []  # (until, version) of each line's air time
    for i, line in enumerate(lines):
        version = line.prompt_version or NO_VERSION
        v = stats.setdefault(version, VersionStats(version))
        v.lines += 1
        v.pitches += line.intent == "pitch"
        v.replies += line.comment_id is not None
        kinds = [guard.kind(text) for text in line.violations]
        v.guard_stops.update(kinds)
        v.clean_lines += not FACT_KINDS.intersection(kinds)
        key = (line.session_id, line.text)
        v.repeats += key in said[version]
        said[version].add(key)
        v.speaking_s += len(line.text) / CHARS_PER_S.get(line.language, 10.0)
        received, heard = line.stamps.get("received"), line.stamps.get("first_audio")
        if received is not None and heard is not None:
            v.latencies_ms.append((heard - received) * 1000)
        start = _aware(line.created_at)
        following = lines[i + 1] if i + 1 < len(lines) else None
        until = start + timedelta(seconds=hold_s)
        if following is not None and following.session_id == line.session_id:
            until = min(until, _aware(following.created_at))
        v.air_s += (until - start).total_seconds()
        starts.append(start)
        holders.append((until, version))

    def holder(moment: datetime) -> str | None:
        i = bisect_right(starts, moment) - 1
        if i < 0 or moment >= holders[i][0]:
            return None
        return holders[i][1]

    for moment, kind in events:
        on_air = holder(moment)
        if on_air is not None:
            stats[on_air].room[kind] += 1
    for export in exports:
        for order in export.orders:
            on_air = holder(order.at)
            if on_air is not None:
                stats[on_air].orders += 1
                stats[on_air].gmv += order.amount
    return [stats[k].as_json() for k in sorted(stats)]
