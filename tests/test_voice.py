"""The voice stage: real speech from Piper and espeak-ng, visemes, normalisation, resampling."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.config import Settings
from host.voice.base import SpeechChunk, Viseme
from host.voice.espeak import Espeak
from host.voice.normalize import normalize_for_speech, zh_number
from host.voice.piper import Piper
from host.voice.resample import resample
from host.voice.router import VoiceRouter, VoiceUnavailable, build_router
from host.voice.visemes import mouth_shapes, visemes_from_durations, visemes_from_onsets

FRAME = 1 / 25  # one program video frame

EN_SENTENCE = "Hi Lily, the lightweight down jacket is 399 yuan today."
ZH_SENTENCE = "这件羽绒服今天只要三百九十九元。"


@pytest.fixture(scope="module")
def piper() -> Piper:
    voice = Piper()
    voice.warm()
    return voice


@pytest.fixture(scope="module")
def espeak() -> Espeak:
    voice = Espeak()
    voice.warm()
    return voice


def joined(chunks: Sequence[SpeechChunk]) -> np.ndarray:
    assert chunks, "no audio"
    assert len({chunk.sample_rate for chunk in chunks}) == 1
    assert all(chunk.pcm.dtype == np.int16 and chunk.pcm.ndim == 1 for chunk in chunks)
    return np.concatenate([chunk.pcm for chunk in chunks])


def assert_is_speech(pcm: np.ndarray, rate: int, min_s: float, max_s: float) -> None:
    """Long enough for the text, loud enough, and sounding most of the time."""
    duration = len(pcm) / rate
    assert min_s <= duration <= max_s, duration
    level = np.sqrt(np.mean(pcm.astype(np.float64) ** 2))
    assert level > 1000, level
    window = rate // 50
    frames = pcm[: len(pcm) // window * window].reshape(-1, window).astype(np.float64)
    sounding = np.sqrt((frames**2).mean(axis=1)) > 300
    assert sounding.mean() > 0.6, sounding.mean()


def assert_visemes_cover(chunk: SpeechChunk) -> None:
    visemes = chunk.visemes
    assert visemes, "no visemes"
    assert visemes[0].start == 0.0
    assert abs(visemes[-1].end - chunk.duration) < FRAME
    for before, after in pairwise(visemes):
        assert before.end == pytest.approx(after.start)
        assert before.shape != after.shape, "repeats are merged"
    assert all(v.end > v.start for v in visemes)


def test_piper_speaks_english(piper: Piper) -> None:
    chunks = list(piper.synthesize(EN_SENTENCE, "en"))
    words = len(EN_SENTENCE.split())
    assert_is_speech(joined(chunks), chunks[0].sample_rate, words * 0.2, words * 0.8)
    assert chunks[0].sample_rate == 22050


def test_piper_yields_one_chunk_per_sentence_with_visemes(piper: Piper) -> None:
    chunks = list(piper.synthesize("Buy my bag. It is big!", "en"))
    assert len(chunks) == 2
    for chunk in chunks:
        assert_visemes_cover(chunk)
    shapes = {v.shape for v in chunks[0].visemes}
    assert "closed" in shapes  # b, m
    assert "rest" in shapes


def test_piper_refuses_a_language_it_does_not_speak(piper: Piper) -> None:
    assert piper.languages == frozenset({"en"})
    with pytest.raises(ValueError, match="speaks"):
        list(piper.synthesize(ZH_SENTENCE, "zh"))


def test_espeak_speaks_mandarin(espeak: Espeak) -> None:
    chunks = list(espeak.synthesize(ZH_SENTENCE, "zh"))
    syllables = len(ZH_SENTENCE) - 1
    assert_is_speech(joined(chunks), chunks[0].sample_rate, syllables * 0.15, syllables * 0.6)
    assert_visemes_cover(chunks[0])


def test_espeak_speaks_english(espeak: Espeak) -> None:
    chunks = list(espeak.synthesize(EN_SENTENCE, "en"))
    words = len(EN_SENTENCE.split())
    assert_is_speech(joined(chunks), chunks[0].sample_rate, words * 0.2, words * 0.8)
    assert_visemes_cover(chunks[0])


def test_espeak_threads_do_not_mix_their_audio(espeak: Espeak) -> None:
    """espeak-ng is one global engine; concurrent callers must each get their own sentence.

    Its output is not bit-identical from call to call (state carries over), so each
    sentence is recognised by its length, which differs a lot between the two texts.
    """
    texts = [("一号链接还有货，欢迎下单。", "zh"), ("Link two is sold out.", "en")] * 3
    alone = [joined(list(espeak.synthesize(text, lang))) for text, lang in texts]
    together: list[np.ndarray | None] = [None] * len(texts)

    def speak(i: int) -> None:
        together[i] = joined(list(espeak.synthesize(*texts[i])))

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for expected, got in zip(alone, together, strict=True):
        assert got is not None and len(got) == pytest.approx(len(expected), rel=0.01)


def test_mouth_shapes_of_ipa() -> None:
    assert mouth_shapes("m") == ["closed"]
    assert mouth_shapes("f") == ["teeth"]
    assert mouth_shapes("u") == ["round"]
    assert mouth_shapes("ˈaɪ") == ["open", "wide"]
    assert mouth_shapes("tʃ") == ["teeth"]
    assert mouth_shapes("ˈ") == []
    assert mouth_shapes("") == ["rest"]
    assert mouth_shapes(".") == ["rest"]


def test_visemes_from_durations_lend_stress_forward_and_cover_total() -> None:
    visemes = visemes_from_durations(
        [("^", 0.1), ("m", 0.1), ("ˈ", 0.05), ("a", 0.1), ("ː", 0.05), ("$", 0.1)], 0.5
    )
    assert visemes == (
        Viseme(0.0, 0.1, "rest"),
        Viseme(0.1, pytest.approx(0.2), "closed"),  # type: ignore[arg-type]
        Viseme(pytest.approx(0.2), pytest.approx(0.4), "open"),  # type: ignore[arg-type]
        Viseme(pytest.approx(0.4), 0.5, "rest"),  # type: ignore[arg-type]
    )


def test_visemes_from_onsets_rest_before_first_and_short_gaps_are_absorbed() -> None:
    visemes = visemes_from_onsets([("p", 0.2), ("a", 0.3), ("", 0.5), ("u", 0.52)], 1.0)
    assert [v.shape for v in visemes] == ["rest", "closed", "open", "round"]
    assert visemes[0].end == pytest.approx(0.2)
    assert visemes[-1].end == 1.0


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("这件¥199，原价￥1,299.00！", "这件一百九十九元，原价一千二百九十九元！"),
        ("19.9元包邮", "十九点九元包邮"),
        ("库存128件", "库存一百二十八件"),
        ("满300减50%", "满三百减百分之五十"),
        ("尺寸60x40cm", "尺寸六十乘四十厘米"),
        ("看这里 https://shop.example.com/item?id=3 哦😍🔥", "看这里哦"),
        ("LH-001现在买2件", "L H 零零一现在买两件"),
        ("3-5天发货，晚上8:30开播", "三到五天发货，晚上八点三十分开播"),
        ("2024年新款", "二零二四年新款"),
        ("2024-05-01发货", "二零二四年五月一日发货"),
        ("2024/12/12开抢。", "二零二四年十二月十二日开抢。"),
    ],
)
def test_normalize_chinese(text: str, spoken: str) -> None:
    assert normalize_for_speech(text, "zh") == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("It's ¥199 today, was ¥1,299.00!", "It's 199 yuan today, was 1299 yuan!"),
        ("Only 19.9元 😍🔥", "Only 19.9 yuan"),
        ("50% off, size 60x40cm", "50 percent off, size 60 by 40 centimeters"),
        ("Visit https://shop.example.com/x or me@shop.com. Thanks", "Visit or. Thanks"),
        ("LH-001 is $1", "L H zero zero one is 1 dollar"),
        ("Ships in 3-5 days, 1,299 sold", "Ships in 3 to 5 days, 1299 sold"),
        ("Ships on 2024-05-01.", "Ships on May 1, 2024."),
        ("Sizes 36-44, not a date", "Sizes 36 to 44, not a date"),
    ],
)
def test_normalize_english(text: str, spoken: str) -> None:
    assert normalize_for_speech(text, "en") == spoken


_TRICKY = [*"0123456789.,:-~xX*%¥$€£元块件年 ab中😍", "RMB", "USD", "cm", "kg", "LH-", "https://w."]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TRICKY), max_size=20).map("".join))
def test_normalized_chinese_never_leaves_a_digit_to_guess(text: str) -> None:
    assert not any(ch in "0123456789" for ch in normalize_for_speech(text, "zh"))
    normalize_for_speech(text, "en")


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("0", "零"),
        ("10", "十"),
        ("15", "十五"),
        ("105", "一百零五"),
        ("110", "一百一十"),
        ("1005", "一千零五"),
        ("10010", "一万零一十"),
        ("100000", "十万"),
        ("100000001", "一亿零一"),
        ("0.5", "零点五"),
        ("12.05", "十二点零五"),
        ("007", "零零七"),
    ],
)
def test_zh_number(number: str, spoken: str) -> None:
    assert zh_number(number) == spoken


@pytest.mark.parametrize(
    ("n", "src", "dst"), [(22050, 22050, 48000), (12345, 48000, 16000), (7, 22050, 48000)]
)
def test_resample_length_is_exact(n: int, src: int, dst: int) -> None:
    pcm = np.random.default_rng(0).integers(-8000, 8000, n).astype(np.int16)
    out = resample(pcm, src, dst)
    assert out.dtype == np.int16
    assert len(out) == round(n * dst / src)


def test_resample_keeps_a_sine_in_tune_and_in_time() -> None:
    t = np.arange(22050) / 22050
    out = resample((np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16), 22050, 48000)
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) * 48000 / len(out) == pytest.approx(440, abs=1)
    ideal = np.sin(2 * np.pi * 440 * np.arange(48000) / 48000) * 10000
    assert np.sqrt(np.mean((out[100:-100] - ideal[100:-100]) ** 2)) < 50  # no delay, no drift


class Broken:
    """A backend that fails, to prove the router moves on."""

    name = "broken"
    languages = frozenset({"zh", "en"})

    def __init__(self, after_chunks: int = 0) -> None:
        self.after_chunks = after_chunks
        self.calls: list[str] = []

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        self.calls.append(text)
        for _ in range(self.after_chunks):
            yield SpeechChunk(np.ones(100, np.int16), 22050)
        raise RuntimeError("engine crashed")


def test_router_falls_back_when_first_backend_raises(espeak: Espeak) -> None:
    broken = Broken()
    router = VoiceRouter({"zh": [broken, espeak]})
    chunks = list(router.synthesize("这件¥199。", "zh"))
    assert broken.calls == ["这件一百九十九元。"]  # normalised before synthesis
    assert_is_speech(joined(chunks), chunks[0].sample_rate, 0.8, 4.0)


def test_router_does_not_repeat_a_sentence_that_failed_midway(espeak: Espeak) -> None:
    router = VoiceRouter({"en": [Broken(after_chunks=1), espeak]})
    chunks = list(router.synthesize("Hello there.", "en"))
    assert len(chunks) == 1 and len(chunks[0].pcm) == 100


def test_router_raises_only_when_every_backend_fails() -> None:
    router = VoiceRouter({"en": [Broken(), Broken()]})
    with pytest.raises(VoiceUnavailable, match="broken: engine crashed; broken: engine crashed"):
        list(router.synthesize("Hello.", "en"))
    with pytest.raises(VoiceUnavailable, match="no voice configured"):
        list(router.synthesize("你好。", "zh"))
    assert list(router.synthesize("😍 https://x.com", "en")) == []  # nothing to say


class Gated:
    """Yields one chunk, then makes the next only once the consumer has the first."""

    name = "gated"
    languages = frozenset({"en"})

    def __init__(self) -> None:
        self.first_received = threading.Event()

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        yield SpeechChunk(np.ones(100, np.int16), 22050)
        if not self.first_received.wait(timeout=5):
            raise TimeoutError("the first chunk was held back until the sentence ended")
        yield SpeechChunk(np.ones(200, np.int16), 22050)


def test_router_stream_hands_each_chunk_on_as_it_is_made() -> None:
    gated = Gated()
    router = VoiceRouter({"en": [gated]})

    async def consume() -> list[int]:
        sizes = []
        async for chunk in router.stream("Hello there.", "en"):
            sizes.append(len(chunk.pcm))
            gated.first_received.set()
        return sizes

    assert asyncio.run(consume()) == [100, 200]


def test_router_rejects_a_backend_for_a_language_it_cannot_speak(piper: Piper) -> None:
    with pytest.raises(ValueError, match="does not speak 'zh'"):
        VoiceRouter({"zh": [piper]})


def test_build_router_defaults_to_piper_then_espeak_for_english() -> None:
    router = build_router(Settings(_env_file=None))  # type: ignore[call-arg]
    assert [voice.name for voice in router.voices("en")] == ["piper", "espeak"]
    assert [voice.name for voice in router.voices("zh")] == ["espeak"]
    assert router.voices("en")[1] is router.voices("zh")[0]
    with pytest.raises(ValueError, match="unknown voice 'nonesuch'"):
        build_router(Settings(_env_file=None, voice_zh="nonesuch"))  # type: ignore[call-arg]
