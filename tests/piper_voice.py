"""A random-weight Piper voice, built the way Piper builds its own (no voice can be downloaded).

The network is Piper's own VITS (`piper.train.vits.models.SynthesizerTrn`, shipped in the
piper-tts wheel) with random weights, exported to ONNX exactly as `piper.train.export_onnx`
does: inputs `input`, `input_lengths`, `scales` (and `sid` for several speakers), output
`output`, the duration predictor's `Ceil` inside (which Piper's alignment patch exposes).
The config beside it is a zh_CN voice's: espeak-ng voice `cmn`, Piper's phoneme id map,
22050 Hz. It speaks noise with the timing of speech, through every real step.

`dims="tiny"` is small enough for a test (about 1 MB, exported in seconds); `dims="medium"`
has the sizes of Piper's medium voices (the zh_CN-huayan-medium kind), so what it costs to
run is what a real medium voice costs. Used by tests and bench/voices.py; needs torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

Dims = Literal["tiny", "medium"]
SAMPLE_RATE = 22_050
HOP_LENGTH = 256
NUM_SYMBOLS = 256  # what Piper's espeak voices declare

_DIMS: dict[str, dict[str, Any]] = {
    "tiny": {
        "inter_channels": 16,
        "hidden_channels": 16,
        "filter_channels": 32,
        "n_heads": 2,
        "n_layers": 2,
        "resblock": "2",
        "resblock_kernel_sizes": (3,),
        "resblock_dilation_sizes": ((1, 2),),
        "upsample_rates": (8, 8, 4),
        "upsample_initial_channel": 32,
        "upsample_kernel_sizes": (16, 16, 8),
    },
    # piper.train.vits.lightning.VitsModel's defaults, which its medium voices are trained with
    "medium": {
        "inter_channels": 192,
        "hidden_channels": 192,
        "filter_channels": 768,
        "n_heads": 2,
        "n_layers": 6,
        "resblock": "2",
        "resblock_kernel_sizes": (3, 5, 7),
        "resblock_dilation_sizes": ((1, 2), (2, 6), (3, 12)),
        "upsample_rates": (8, 8, 4),
        "upsample_initial_channel": 256,
        "upsample_kernel_sizes": (16, 16, 8),
    },
}


def save_random_piper_voice(
    folder: Path,
    *,
    dims: Dims = "tiny",
    speakers: int = 1,
    name: str = "zh_CN-random-medium",
    seed: int = 0,
) -> Path:
    """Write `name.onnx` and `name.onnx.json` into `folder`; returns the .onnx path."""
    import torch
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP
    from piper.train.vits.models import SynthesizerTrn

    torch.manual_seed(seed)
    model = SynthesizerTrn(
        n_vocab=NUM_SYMBOLS,
        spec_channels=1024 // 2 + 1,
        segment_size=8192 // HOP_LENGTH,
        kernel_size=3,
        p_dropout=0.1,
        n_speakers=speakers,
        gin_channels=16 if speakers > 1 else 0,
        use_sdp=True,
        **_DIMS[dims],
    )
    model.eval()
    with torch.no_grad():
        model.dec.remove_weight_norm()

    def infer_forward(text, text_lengths, scales, sid=None):
        """Piper's export wrapper (piper.train.export_onnx): scales = noise, length, noise_w."""
        audio = model.infer(
            text,
            text_lengths,
            noise_scale=scales[0],
            length_scale=scales[1],
            noise_scale_w=scales[2],
            sid=sid,
        )[0].unsqueeze(1)
        return audio

    model.forward = infer_forward  # type: ignore[method-assign,assignment]
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{name}.onnx"
    sequences = torch.randint(low=0, high=NUM_SYMBOLS, size=(1, 50), dtype=torch.long)
    sid = torch.LongTensor([0]) if speakers > 1 else None
    with torch.no_grad():
        torch.onnx.export(
            model=model,
            args=(sequences, torch.LongTensor([50]), torch.FloatTensor([0.667, 1.0, 0.8]), sid),
            f=str(onnx_path),
            opset_version=15,
            input_names=["input", "input_lengths", "scales", "sid"],
            output_names=["output"],
            dynamic_axes={
                "input": {0: "batch_size", 1: "phonemes"},
                "input_lengths": {0: "batch_size"},
                "output": {0: "batch_size", 2: "time"},
            },
            dynamo=False,
        )
    config = {
        "dataset": "random",
        "audio": {"sample_rate": SAMPLE_RATE, "quality": "medium"},
        "espeak": {"voice": "cmn"},
        "language": {
            "code": "zh_CN",
            "family": "zh",
            "region": "CN",
            "name_native": "简体中文",
            "name_english": "Chinese",
            "country_english": "China",
        },
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
        "num_symbols": NUM_SYMBOLS,
        "num_speakers": speakers,
        "speaker_id_map": {f"speaker{i}": i for i in range(speakers)} if speakers > 1 else {},
        "hop_length": HOP_LENGTH,
        "piper_version": "1.0.0",
    }
    Path(f"{onnx_path}.json").write_text(
        json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return onnx_path
