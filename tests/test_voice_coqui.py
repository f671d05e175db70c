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


@needs_coqui
def test_a_voice_profile_reference_loads_through_xtts_own_reader(
    settings: Settings, tmp_path: Path
) -> None:
    """XTTS reads the reference with torchaudio (FFmpeg underneath): the clip `host voice
    create` stores must come back through that exact reader, at XTTS's rate, not silent."""
    from TTS.tts.models.xtts import load_audio

    from host.voice.clone import REFERENCE_RATE, VoiceProfile, create_voice
    from tests.test_voice_clone import CONSENT, LONG_PART, recording, silence, speech, write_wav

    take = recording([silence(1), speech(LONG_PART), silence(1)])
    create_voice(settings, write_wav(tmp_path / "take.wav", take), "lily", CONSENT)
    reference = VoiceProfile.reference(settings, "lily")
    audio = load_audio(str(reference), REFERENCE_RATE).numpy()[0]
    assert 6.0 <= len(audio) / REFERENCE_RATE <= 15.0
    assert np.sqrt(np.mean(audio**2)) > 0.02
