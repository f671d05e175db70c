"""Cut a token stream into sentences as they complete, so TTS starts on the first one.

An LLM streams a few characters at a time; waiting for the whole reply would add its full
generation time to the wait for first audio. A sentence ends at Chinese or English
terminal punctuation, but a period only when what follows it is known and is a space or
the end ("19.99", "e.g.", "Mr." are not ends), and no sentence grows past a length cap:
a long one is cut at its last comma or space.
"""

from __future__ import annotations

import re

HARD_ENDS = "。！？!?；;…\n"
CLOSERS = "\"'”’」』）)～~"
SOFT_BREAKS = "，,、：:"
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "no", "approx", "inc", "ltd"}
)
WORD_BEFORE = re.compile(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)$")


class SentenceCutter:
    def __init__(self, max_chars: int = 80) -> None:
        self.max_chars = max_chars
        self._buf = ""

    def feed(self, text: str) -> list[str]:
        """The sentences `text` completes (possibly none); the rest waits for more tokens."""
        self._buf += text
        return self._cut(final=False)

    def flush(self) -> list[str]:
        """The end of the stream: whatever is left is the last sentence."""
        return self._cut(final=True)

    def _cut(self, final: bool) -> list[str]:
        out: list[str] = []
        while True:
            end = self._end(final)
            if end is None:
                break
            piece, self._buf = self._buf[:end].strip(), self._buf[end:]
            if piece:
                out.append(piece)
        if final:
            rest, self._buf = self._buf.strip(), ""
            if rest:
                out.append(rest)
        return out

    def _end(self, final: bool) -> int | None:
        """Where the first complete sentence in the buffer ends, or None if none is yet."""
        buf = self._buf
        for i, ch in enumerate(buf):
            if i >= self.max_chars:
                return self._capped()
            if ch in HARD_ENDS:
                return self._after_closers(i + 1, final)
            if ch == "." and self._period_ends(i, final):
                return self._after_closers(i + 1, final)
        if len(buf) > self.max_chars:
            return self._capped()
        return None

    def _after_closers(self, j: int, final: bool) -> int | None:
        """Keep "!?", "。」" and the like with their sentence; wait if the buffer ends there."""
        buf = self._buf
        while j < len(buf) and (buf[j] in CLOSERS or buf[j] in HARD_ENDS):
            j += 1
        if j == len(buf) and not final:
            return None  # a closing quote or another "!" may still come
        return j

    def _period_ends(self, i: int, final: bool) -> bool:
        buf = self._buf
        if i + 1 >= len(buf):
            return final
        after = buf[i + 1]
        if after.isdigit() or after in ".":
            return False  # 19.99, "..."
        if not (after.isspace() or after in CLOSERS or not after.isascii()):
            return False  # "e.g" mid-token, a URL
        word = WORD_BEFORE.search(buf[:i])
        if word is None:
            return True
        token = word.group(1).lower()
        return not (token in ABBREVIATIONS or len(token) == 1)  # "Dr.", initials

    def _capped(self) -> int:
        """Over the cap: cut at the last comma or space inside it, else exactly at the cap."""
        window = self._buf[: self.max_chars]
        for breaks in (SOFT_BREAKS, " "):
            at = max(window.rfind(b) for b in breaks)
            if at > self.max_chars // 3:
                return at + 1
        return self.max_chars
