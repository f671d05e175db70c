"""Phonemes to mouth shapes, so the face moves with what is said rather than only how loud.

Both engines speak IPA (Piper one symbol at a time, espeak a syllable-ish cluster such as
"ˈaɪ" or "ts."), so a symbol table is shared. A cluster is split evenly among the symbols
that have a shape of their own; stress, length and tone marks take no time of their own and
lend theirs to a neighbour.
"""

from __future__ import annotations

from collections.abc import Iterable

from host.voice.base import MouthShape, Viseme

_SHAPE_GROUPS: tuple[tuple[str, MouthShape], ...] = (
    ("pbmɱ", "closed"),
    ("fvθðszʃʒɕʑʂʐçʝ", "teeth"),
    ("uʊoɔɒwyʏøœɵɞʉɯɤ", "round"),
    ("iɪeɛjɨæ", "wide"),
    ("aɑɐʌəɜɚɝɘ", "open"),
    ("tdnlkɡgŋɲhɦɹrɾɻʀʁxχqʔɫʎɭɳʈɖ", "open"),
)
_SHAPES = {symbol: shape for symbols, shape in _SHAPE_GROUPS for symbol in symbols}
_SILENT = frozenset("_^$.,!?;:-…\"'()")  # pauses, Piper's BOS/EOS, punctuation
_MIN_PAUSE = 0.06  # a shorter rest between sounds is a word boundary, not a visible pause
_STRESS = frozenset("ˈˌ")  # precede the vowel they stress: their time goes forward
_AFFRICATE_ONSETS = frozenset("td")


def mouth_shapes(phoneme: str) -> list[MouthShape]:
    """The shapes one phoneme (or espeak cluster) passes through, in order.

    Empty when the phoneme only modifies a neighbour (stress, length, tone, diacritics) or
    is a word boundary (" "); ["rest"] for pauses and punctuation.
    """
    if phoneme == "" or all(symbol in _SILENT for symbol in phoneme):
        return ["rest"]
    shapes: list[MouthShape] = []
    for i, symbol in enumerate(phoneme):
        shape = _SHAPES.get(symbol)
        if shape is None:
            continue
        after = phoneme[i + 1] if i + 1 < len(phoneme) else ""
        if symbol in _AFFRICATE_ONSETS and _SHAPES.get(after) == "teeth":
            continue  # tʃ, dʒ, ts, tɕ look like their fricative
        if not shapes or shapes[-1] != shape:
            shapes.append(shape)
    return shapes


def visemes_from_durations(
    phonemes: Iterable[tuple[str, float]], total: float
) -> tuple[Viseme, ...]:
    """Visemes from consecutive (phoneme, seconds) pairs, as Piper's alignments give them.

    The result starts at 0, ends exactly at `total`, and never goes backwards.
    """
    segments: list[tuple[MouthShape, float]] = []
    carried = 0.0  # time of marks that lend theirs to the next phoneme
    for phoneme, seconds in phonemes:
        seconds = max(seconds, 0.0)
        shapes = mouth_shapes(phoneme)
        if not shapes:
            if phoneme and phoneme[0] in _STRESS:
                carried += seconds
            elif segments:
                shape, length = segments[-1]
                segments[-1] = (shape, length + seconds)
            else:
                carried += seconds
            continue
        share = (seconds + carried) / len(shapes)
        carried = 0.0
        segments.extend((shape, share) for shape in shapes)
    if carried and segments:
        shape, length = segments[-1]
        segments[-1] = (shape, length + carried)
    return _timeline(segments, total)


def visemes_from_onsets(phonemes: Iterable[tuple[str, float]], total: float) -> tuple[Viseme, ...]:
    """Visemes from (phoneme, start seconds) events, as espeak's phoneme events give them.

    Each phoneme lasts until the next one starts; the last until `total`; before the first,
    the mouth rests.
    """
    events = sorted(phonemes, key=lambda event: event[1])
    durations: list[tuple[str, float]] = []
    if events and events[0][1] > 0:
        durations.append(("", events[0][1]))
    for i, (phoneme, start) in enumerate(events):
        end = events[i + 1][1] if i + 1 < len(events) else total
        durations.append((phoneme, max(min(end, total) - max(start, 0.0), 0.0)))
    return visemes_from_durations(durations, total)


def _timeline(segments: list[tuple[MouthShape, float]], total: float) -> tuple[Viseme, ...]:
    """Lay segments end to end, merge repeats, and stretch the whole onto [0, total]."""
    if total <= 0:
        return ()
    for i in range(1, len(segments) - 1):
        shape, seconds = segments[i]
        if shape == "rest" and seconds < _MIN_PAUSE:
            segments[i] = (segments[i - 1][0], seconds)
    length = sum(seconds for _, seconds in segments)
    if length <= 0:
        return (Viseme(0.0, total, "rest"),)
    scale = total / length
    visemes: list[Viseme] = []
    t = 0.0
    for shape, seconds in segments:
        if seconds <= 0:
            continue
        end = min(t + seconds * scale, total)
        if visemes and visemes[-1].shape == shape:
            visemes[-1] = Viseme(visemes[-1].start, end, shape)
        else:
            visemes.append(Viseme(t, end, shape))
        t = end
    visemes[-1] = Viseme(visemes[-1].start, total, visemes[-1].shape)
    return tuple(visemes)
