"""The packet framing of Bilibili's live danmaku websocket (web rooms and the open platform).

Every binary websocket message holds one or more packets, each a 16-byte big-endian header
(packet length u32, header length u16 = 16, protocol version u16, operation u32, sequence
u32) then a body. Version 0 bodies are JSON, version 1 a big-endian u32 (the popularity in a
heartbeat reply), and versions 2 (zlib) and 3 (brotli) a compressed run of whole packets,
which is how the server batches commands. A frame that lies about a length or does not
decompress raises `FrameError` at that point (so does any other decoder failure, such as
brotli < 1.2 refusing `output_buffer_limit`); the packets before it are still returned, so
the listener loses only what was broken.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import brotli

HEADER = struct.Struct(">IHHII")
HEADER_LEN = HEADER.size  # 16

OP_HEARTBEAT = 2
OP_HEARTBEAT_REPLY = 3
OP_COMMAND = 5
OP_AUTH = 7
OP_AUTH_REPLY = 8

VERSION_JSON = 0
VERSION_INT = 1
VERSION_ZLIB = 2
VERSION_BROTLI = 3

MAX_INFLATED = 4 * 1024 * 1024  # a batch is tens of KiB; more is a decompression bomb
MAX_NESTING = 2  # the server compresses once; a batch inside a batch is already odd


class FrameError(ValueError):
    """Bytes that are not a well-formed packet."""


@dataclass(frozen=True)
class Packet:
    op: int
    version: int
    seq: int
    body: bytes


def pack(op: int, body: bytes, version: int = VERSION_INT, seq: int = 1) -> bytes:
    """One packet; clients send auth and heartbeats with version 1, as the web player does."""
    return HEADER.pack(HEADER_LEN + len(body), HEADER_LEN, version, op, seq) + body


def unpack(data: bytes, depth: int = 0) -> Iterator[Packet]:
    """The packets in one websocket message, compressed batches opened in place."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER_LEN:
            raise FrameError(f"{len(data) - offset} bytes left, shorter than a header")
        length, header_len, version, op, seq = HEADER.unpack_from(data, offset)
        if header_len != HEADER_LEN:
            raise FrameError(f"header length {header_len}, expected {HEADER_LEN}")
        if length < HEADER_LEN or offset + length > len(data):
            raise FrameError(f"packet length {length} does not fit the {len(data)}-byte frame")
        body = data[offset + HEADER_LEN : offset + length]
        offset += length
        if version in (VERSION_ZLIB, VERSION_BROTLI) and op == OP_COMMAND:
            if depth >= MAX_NESTING:
                raise FrameError("compressed batches nested too deep")
            yield from unpack(_inflate(version, body), depth + 1)
        else:
            yield Packet(op, version, seq, body)


def _inflate(version: int, body: bytes) -> bytes:
    name = "zlib" if version == VERSION_ZLIB else "brotli"
    try:
        return _inflate_zlib(body) if version == VERSION_ZLIB else _inflate_brotli(body)
    except FrameError:
        raise
    except (zlib.error, brotli.error) as exc:
        raise FrameError(f"bad {name} batch: {exc}") from exc
    except Exception as exc:  # a decoder bug or version mismatch costs one frame, not the stream
        raise FrameError(f"{name} decoder failed: {exc.__class__.__name__}: {exc}") from exc


def _inflate_zlib(body: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(body, MAX_INFLATED)
    if inflater.unconsumed_tail:
        raise FrameError(f"batch inflates past {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise FrameError("truncated zlib batch")
    return out


def _inflate_brotli(body: bytes) -> bytes:
    decompressor = brotli.Decompressor()
    out = decompressor.process(body, output_buffer_limit=MAX_INFLATED)  # brotli >= 1.2
    if len(out) >= MAX_INFLATED and not decompressor.is_finished():
        raise FrameError(f"batch inflates past {MAX_INFLATED} bytes")
    if not decompressor.is_finished():
        raise FrameError("truncated brotli batch")
    return out
