"""The Coqui backend: model folders are checked before torch loads; a tiny VITS really speaks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from host.config import Settings
from host.voice.clone import VoiceProfileError
from host.voice.coqui import Coqui, CoquiModelError, coqui_from_settings
from host.voice.router import build_router

# Skipped only where the extra is absent; an extra that is there but broken fails the test.
needs_coqui = pytest.mark.skipif(
    importlib.util.find_spec("TTS") is None,
    reason="the 'coqui' extra (coqui-tts, torch, torchaudio) is not installed: make setup-coqui",
)


def test_coqui_needs_a_model_folder_with_config_and_one_checkpoint(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(CoquiModelError, match="needs COQUI_MODEL_DIR"):
        build_router(settings.model_copy(update={"voice_zh": "coqui"}))
    with pytest.raises(CoquiModelError, match=r"no config\.json"):
        Coqui(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model": "vits"}), encoding="utf-8")
    (tmp_path / "a.pth").write_bytes(b"x")
    (tmp_path / "b.pth").write_bytes(b"x")
    with pytest.raises(CoquiModelError, match="found 2"):
        Coqui(tmp_path)
    (tmp_path / "model.pth").write_bytes(b"x")
    assert Coqui(tmp_path).languages == {"en"}


def test_coqui_single_speaker_model_speaks_its_config_language(tmp_path: Path) -> None:
    config = {"model": "vits", "phoneme_language": "zh-cn"}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "model.pth").write_bytes(b"x")
    voice = Coqui(tmp_path)
    assert voice.languages == {"zh"}
    with pytest.raises(ValueError, match="speaks \\['zh'\\]"):
        list(voice.synthesize("Hello.", "en"))


def test_xtts_needs_a_consented_voice_profile(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model": "xtts"}), encoding="utf-8")
    with pytest.raises(CoquiModelError, match="set COQUI_SPEAKER"):
        coqui_from_settings(settings.model_copy(update={"coqui_model_dir": tmp_path}))
    with pytest.raises(VoiceProfileError, match="no voice profile 'lily'"):
        coqui_from_settings(
            settings.model_copy(update={"coqui_model_dir": tmp_path, "coqui_speaker": "lily"})
        )
    with pytest.raises(CoquiModelError, match=r"no model\.pth in XTTS folder"):
        Coqui(tmp_path, speaker_wav=tmp_path / "reference.wav")


def save_tiny_vits(folder: Path) -> Path:
    """A random-weight VITS with small dims, saved the way a user's model folder looks.

    config.json plus model.pth, 16 kHz, about 1 MB: it renders noise, not speech, but through
    every real step (tokenizer, text encoder, flow, HiFi-GAN decoder). Used by bench/voice.py too.
    """
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    torch.manual_seed(0)
    config = VitsConfig(
        audio=BaseAudioConfig(sample_rate=16000),
        use_phonemes=False,
        text_cleaner="basic_cleaners",
        model_args=VitsArgs(
            hidden_channels=16,
            hidden_channels_ffn_text_encoder=32,
            num_layers_text_encoder=1,
            num_heads_text_encoder=1,
            num_layers_flow=1,
            num_layers_posterior_encoder=1,
            use_sdp=False,
            init_discriminator=False,
            resblock_kernel_sizes_decoder=[3],
            resblock_dilation_sizes_decoder=[[1, 3, 5]],
            upsample_rates_decoder=[8, 8, 4],  # their product is the audio's hop length
            upsample_initial_channel_decoder=32,
            upsample_kernel_sizes_decoder=[16, 16, 8],
        ),
    )
    folder.mkdir(parents=True, exist_ok=True)
    model = Vits(config)
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    model.config.save_json(str(folder / "config.json"))  # with the characters it was built for
    return folder


@needs_coqui
def test_tiny_random_vits_loads_through_the_user_path_and_speaks(tmp_path: Path) -> None:
    voice = Coqui(save_tiny_vits(tmp_path / "tiny-vits"))
    voice.warm()

    (short,) = voice.synthesize("Hi Lily,", "en")
    (chunk,) = voice.synthesize("hello there, welcome to the stream", "en")

    assert voice.sample_rate == chunk.sample_rate == 16000 and chunk.pcm.dtype == np.int16
    assert 0.5 < chunk.duration < 10 and chunk.duration > 2 * short.duration  # text reaches it
    assert np.sqrt(np.mean(chunk.pcm.astype(np.float64) ** 2)) > 100  # never silence
    assert np.abs(chunk.pcm[-160:]).max() > 0  # Coqui's trailing 10,000 zeros are cut


TINY_XTTS_CODES = 48  # audio codes per sentence; each is 1024 samples at 22,050 Hz


def save_tiny_xtts(folder: Path, *, full_size_gpt: bool = False) -> Path:
    """A random-weight XTTS v2 folder as users get it: config.json, model.pth and vocab.json.

    The GPT is shrunk (one layer, 32 channels, 66 audio codes) unless `full_size_gpt`, which
    gives XTTS v2's own (30 layers, 1024 channels, 1026 codes; 1.8 GB saved): random weights
    cost the same compute as trained ones, so bench/voice.py times a real XTTS with it. XTTS
    fixes the size of its HiFi-GAN decoder and speaker encoder, so those are always full size
    (about 90 MB). The vocabulary holds XTTS's control tokens and single characters, which is
    all its tokenizer needs for English and for the pinyin it turns Chinese into. The GPT's
    stop code is made unreachable, so every sentence runs to `gpt_max_audio_tokens` and its
    length is known.
    """
    import string

    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from TTS.tts.configs.xtts_config import XttsArgs, XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    folder.mkdir(parents=True, exist_ok=True)
    control = ["[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]", "[zh-cn]"]
    letters = sorted(set(string.ascii_lowercase + string.digits + ".,!?'-"))
    vocab = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(control + letters)}, merges=[]))
    vocab.pre_tokenizer = pre_tokenizers.Whitespace()
    vocab.add_special_tokens(control)
    vocab.save(str(folder / "vocab.json"))

    torch.manual_seed(0)
    layers, channels, heads, codes = (30, 1024, 16, 1024) if full_size_gpt else (1, 32, 2, 64)
    config = XttsConfig(
        model_args=XttsArgs(
            gpt_layers=layers,
            gpt_n_model_channels=channels,
            gpt_n_heads=heads,
            gpt_max_audio_tokens=TINY_XTTS_CODES,
            gpt_num_audio_tokens=codes + 2,
            gpt_start_audio_token=codes,
            gpt_stop_audio_token=codes + 1,
            decoder_input_dim=channels,  # the decoder reads the GPT's latents
        )
    )
    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(folder / "vocab.json"))
    model.init_models()  # sizes the GPT's text embedding to the vocabulary
    with torch.no_grad():
        model.gpt.mel_head.bias[codes + 1] = -1e4
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    config.save_json(str(folder / "config.json"))
    return folder


@pytest.fixture(scope="module")
def tiny_xtts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_xtts(tmp_path_factory.mktemp("models") / "tiny-xtts")


@needs_coqui
@pytest.mark.slow
def test_tiny_random_xtts_speaks_in_the_voice_profile_it_was_given(
    settings: Settings, tmp_path: Path, tiny_xtts: Path
) -> None:
    """`host voice create` -> COQUI_SPEAKER -> the XTTS folder: the profile's clip is what
    the model conditions on, and Chinese goes through."""
    import torch

    from host.voice.clone import create_voice
    from tests.test_voice_clone import CONSENT, LONG_PART, recording, silence, speech, write_wav

    lily = recording([silence(1), speech(LONG_PART), silence(1)])
    mei = recording([silence(1), speech(LONG_PART[::-1], level_dbfs=-22), silence(1)])
    create_voice(settings, write_wav(tmp_path / "lily.wav", lily), "lily", CONSENT)
    create_voice(settings, write_wav(tmp_path / "mei.wav", mei), "mei", CONSENT)

    def spoken(speaker: str, text: str, language: str) -> list[np.ndarray]:
        # Loaded afresh each time: a model's second run differs from its first in the last
        # bits, so bit-identical audio for a seed holds only from a fresh load.
        voice = coqui_from_settings(
            settings.model_copy(update={"coqui_model_dir": tiny_xtts, "coqui_speaker": speaker})
        )
        voice.warm()
        torch.manual_seed(7)  # XTTS samples its codes; the same seed must give the same audio
        chunks = list(voice.synthesize(text, language))
        assert {c.sample_rate for c in chunks} == {voice.sample_rate} == {24000}
        return [c.pcm for c in chunks]

    sentence = "Welcome to the stream, everybody."
    (audio,) = spoken("lily", sentence, "en")
    expected_s = TINY_XTTS_CODES * 1024 / 22050
    assert 0.8 * expected_s < len(audio) / 24000 < 1.1 * expected_s
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 100

    assert np.array_equal(np.concatenate(spoken("lily", sentence, "en")), audio)
    other = np.concatenate(spoken("mei", sentence, "en"))
    assert not np.array_equal(other[: len(audio)], audio[: len(other)])  # the clip drives it

    chinese = np.concatenate(spoken("lily", "欢迎来到直播间，三号链接一百九十九元。", "zh"))
    assert len(chinese) / 24000 > 0.8 * expected_s
