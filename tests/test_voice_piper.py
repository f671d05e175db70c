"""Piper voice files per language: a random-weight zh_CN voice in Piper's own format, loaded and
spoken through the real loader (host.voice.piper and piper-tts's PiperVoice, espeak-ng `cmn`)."""

from __future__ import annotations

import importlib.util
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from host.cli import app
from host.config import Settings
from host.voice.base import MOUTH_SHAPES, SpeechChunk
from host.voice.piper import Piper, PiperModel, PiperVoiceError
from host.voice.router import VoiceRouter, build_router
from host.voice.trial import VoiceTrialError, speak_line
from tests.piper_voice import HOP_LENGTH, SAMPLE_RATE, save_random_piper_voice

# Skipped only where the extra is absent; an extra that is there but broken fails the test.
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="building a Piper voice needs torch (the 'coqui' extra): make setup-coqui",
)
ZH = "这件羽绒服今天只要三百九十九元。大家快来抢！"
runner = CliRunner()


@pytest.fixture(scope="module")
def zh_voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_piper_voice(tmp_path_factory.mktemp("piper"))


@needs_torch
def test_piper_voice_is_piper_format(zh_voice: Path) -> None:
    import onnx

    graph = onnx.load(str(zh_voice)).graph
    assert [i.name for i in graph.input] == ["input", "input_lengths", "scales"]
    assert [o.name for o in graph.output] == ["output"]
    assert [node.op_type for node in graph.node].count("Ceil") == 1  # what alignments expose
    config = json.loads(Path(f"{zh_voice}.json").read_text(encoding="utf-8"))
    assert config["espeak"]["voice"] == "cmn" and config["phoneme_type"] == "espeak"


@needs_torch
def test_piper_zh_voice_speaks_chinese_with_visemes(zh_voice: Path) -> None:
    voice = Piper({"zh": zh_voice})
    assert voice.languages == {"zh"}
    chunks = list(voice.synthesize(ZH, "zh"))
    assert len(chunks) == 2, "one chunk per sentence"
    for chunk in chunks:
        assert chunk.sample_rate == SAMPLE_RATE and chunk.pcm.dtype == np.int16
        assert chunk.duration > 0.3
        assert np.abs(chunk.pcm).max() > 10_000  # Piper normalises every sentence to full scale
        assert chunk.visemes[0].start == 0.0
        assert chunk.visemes[-1].end == pytest.approx(chunk.duration)
        assert all(a.end == b.start for a, b in zip(chunk.visemes, chunk.visemes[1:], strict=False))
        shapes = {viseme.shape for viseme in chunk.visemes}
        assert shapes <= set(MOUTH_SHAPES) and len(shapes - {"rest"}) >= 3
    with pytest.raises(ValueError, match="no voice for 'en'"):
        list(voice.synthesize("Hello.", "en"))


@needs_torch
def test_piper_zh_voice_phonemises_with_espeak_cmn_and_aligns_every_sample(
    zh_voice: Path,
) -> None:
    loaded = PiperModel("zh", zh_voice).loaded()
    assert loaded.phonemize("你好") == [
        ["n", "i", "2", "χ", "ˈ", "ɑ", "u", "2"]
    ]  # espeak-ng cmn, tone digits too
    chunk = next(iter(loaded.synthesize("欢迎来到直播间。", include_alignments=True)))
    assert chunk.phoneme_alignments, "the alignment patch exposed the durations"
    assert sum(a.num_samples for a in chunk.phoneme_alignments) == len(chunk.audio_float_array)
    assert len(chunk.audio_float_array) % HOP_LENGTH == 0


@needs_torch
def test_multi_speaker_piper_voice_gets_a_speaker_id(tmp_path: Path) -> None:
    voice = Piper({"zh": save_random_piper_voice(tmp_path, speakers=2)})
    chunks = list(voice.synthesize("你好。", "zh"))
    assert chunks and chunks[0].duration > 0.1


class _Heard:
    """A voice that remembers what text it was given, then lets the real one speak it."""

    def __init__(self, voice: Piper) -> None:
        self.name = voice.name
        self.languages = voice.languages
        self.voice = voice
        self.texts: list[str] = []

    def synthesize(self, text: str, language: str) -> Iterator[SpeechChunk]:
        self.texts.append(text)
        yield from self.voice.synthesize(text, language)


@needs_torch
def test_piper_zh_hears_prices_as_chinese_words(zh_voice: Path) -> None:
    heard = _Heard(Piper({"zh": zh_voice}))
    chunks = list(VoiceRouter({"zh": [heard]}).synthesize("今天只要¥1,299，2件包邮！", "zh"))
    assert chunks
    assert heard.texts == ["今天只要一千二百九十九元，两件包邮！"]


@needs_torch
def test_voice_zh_piper_puts_the_zh_voice_first_and_espeak_behind(
    zh_voice: Path, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={"voice_zh": "piper", "piper_model_zh": zh_voice, "tts_cache": False}
    )
    router = build_router(configured)
    assert [voice.name for voice in router.voices("zh")] == ["piper", "espeak"]
    assert [voice.name for voice in router.voices("en")] == ["piper", "espeak"]
    piper = router.voices("zh")[0]
    assert piper is router.voices("en")[0], "one Piper, a voice file per language"
    assert piper.languages == {"en", "zh"}
    chunks = list(router.synthesize(ZH, "zh"))
    assert {chunk.sample_rate for chunk in chunks} == {SAMPLE_RATE}
    english = list(router.synthesize("Hello there.", "en"))
    assert english and english[0].sample_rate == 22050  # the bundled voice still speaks English


def test_voice_zh_piper_without_a_voice_file_names_the_setting(settings: Settings) -> None:
    with pytest.raises(PiperVoiceError, match="VOICE_ZH=piper needs PIPER_MODEL_ZH"):
        build_router(settings.model_copy(update={"voice_zh": "piper"}))
    missing = settings.model_copy(
        update={"voice_zh": "piper", "piper_model_zh": Path("/no/zh_CN-x.onnx")}
    )
    with pytest.raises(PiperVoiceError, match=r"PIPER_MODEL_ZH=/no/zh_CN-x\.onnx: no such file"):
        build_router(missing)


def _voice_file(folder: Path, config: dict[str, object]) -> Path:
    model = folder / "voice.onnx"
    model.write_bytes(b"not read before the config is checked")
    Path(f"{model}.json").write_text(json.dumps(config), encoding="utf-8")
    return model


_CONFIG = {
    "audio": {"sample_rate": 22050},
    "espeak": {"voice": "cmn"},
    "language": {"code": "zh_CN", "family": "zh"},
    "num_symbols": 256,
    "num_speakers": 1,
    "phoneme_id_map": {"_": [0]},
}


def test_pinyin_voice_is_refused_as_needing_a_download(tmp_path: Path) -> None:
    model = _voice_file(tmp_path, {**_CONFIG, "phoneme_type": "pinyin"})
    with pytest.raises(PiperVoiceError, match=r"reads pinyin phonemes.*cannot speak offline"):
        Piper({"zh": model})


def test_piper_voice_of_another_language_is_refused(tmp_path: Path) -> None:
    english = {**_CONFIG, "espeak": {"voice": "en-us"}, "language": {"code": "en_US"}}
    with pytest.raises(PiperVoiceError, match="speaks 'en', not 'zh'"):
        Piper({"zh": _voice_file(tmp_path, english)})
    with pytest.raises(PiperVoiceError, match=r"config voice\.onnx\.json is missing"):
        Path(f"{tmp_path / 'voice.onnx'}.json").unlink()
        Piper({"zh": tmp_path / "voice.onnx"})


def test_a_classic_voice_config_with_only_the_espeak_voice_is_chinese(tmp_path: Path) -> None:
    config = {key: value for key, value in _CONFIG.items() if key != "language"}
    assert Piper({"zh": _voice_file(tmp_path, config)}).languages == {"zh"}


def test_piper_model_keeps_its_old_name_for_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPER_MODEL", "/models/en_US-amy-medium.onnx")
    monkeypatch.setenv("PIPER_MODEL_ZH", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.piper_model_en == Path("/models/en_US-amy-medium.onnx")
    assert settings.piper_model_zh is None
    monkeypatch.setenv("PIPER_MODEL_EN", "/models/en_US-joe-medium.onnx")
    monkeypatch.delenv("PIPER_MODEL")
    assert Settings(_env_file=None).piper_model_en == Path("/models/en_US-joe-medium.onnx")  # type: ignore[call-arg]


@needs_torch
def test_voice_test_speaks_the_line_with_piper_normalised(
    zh_voice: Path, settings: Settings
) -> None:
    configured = settings.model_copy(update={"voice_zh": "piper", "piper_model_zh": zh_voice})
    trial = speak_line(configured, "只要¥399！", "zh")
    assert trial.backend == "piper"
    assert trial.spoken_text == "只要三百九十九元！"
    assert trial.sample_rate == SAMPLE_RATE and trial.duration_s > 0.5
    assert 0 < trial.first_audio_s <= trial.total_s and trial.visemes > 3


@needs_torch
def test_host_voice_test_writes_a_wav_and_prints_its_timings(
    zh_voice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICE_ZH", "piper")
    monkeypatch.setenv("PIPER_MODEL_ZH", str(zh_voice))
    result = runner.invoke(app, ["voice", "test", "欢迎来到直播间", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "piper (zh):" in result.output and "first audio" in result.output
    with wave.open(str(tmp_path / "voice-test-zh.wav"), "rb") as wav:
        assert wav.getframerate() == SAMPLE_RATE and wav.getnchannels() == 1
        assert wav.getnframes() / SAMPLE_RATE > 0.5


def test_host_voice_test_without_the_voice_set_up_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOICE_ZH", "piper")
    result = runner.invoke(app, ["voice", "test", "你好", "--lang", "zh"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: VOICE_ZH=piper needs PIPER_MODEL_ZH: download a zh voice (.onnx and .onnx.json)"
        " from https://huggingface.co/rhasspy/piper-voices"
    ]
    assert not (tmp_path / "voice-test-zh.wav").exists()


def test_voice_test_of_a_line_without_words_says_so(settings: Settings) -> None:
    with pytest.raises(VoiceTrialError, match="nothing to say"):
        speak_line(settings, "😀 https://shop.example.com", "zh")
