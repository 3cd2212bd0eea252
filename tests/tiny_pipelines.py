"""Tiny real diffusers pipelines (SD 1.5- and SDXL-shaped) from seeded random weights.

Shapes follow diffusers' own test suites, shrunk until a 64 px image takes well under a
second on two cores. The tokenizer is the BPE fixture in tests/fixtures/tokenizer.
"""

from __future__ import annotations

from pathlib import Path

TOKENIZER_DIR = Path(__file__).parent / "fixtures" / "tokenizer"


def _text_encoder_config(tokenizer, projection_dim=None):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          pad_token_id=tokenizer.pad_token_id, vocab_size=len(tokenizer), hidden_size=32,
                          intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                          max_position_embeddings=77, hidden_act="gelu", projection_dim=projection_dim or 32)


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                         down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                         latent_channels=4, norm_num_groups=2, sample_size=64)


def _unet(in_channels=4, **family):
    """The shared toy UNet shape; `family` adds SD 1.5's or SDXL's conditioning settings.

    in_channels=9: an inpainting UNet (latents + mask + masked image's latents).
    """
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=32,
                                in_channels=in_channels, out_channels=4, norm_num_groups=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), **family)


def build_sd15(seed: int = 0, in_channels: int = 4):
    """A StableDiffusionPipeline with SD 1.5's component classes at toy size (64 px native).

    in_channels=9: a StableDiffusionInpaintPipeline with a 9-channel UNet, as inpainting checkpoints are saved.
    """
    import torch
    from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    unet = _unet(in_channels, cross_attention_dim=32, attention_head_dim=4)
    vae = _vae()
    text_encoder = CLIPTextModel(_text_encoder_config(tokenizer))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False)
    kind = StableDiffusionInpaintPipeline if in_channels == 9 else StableDiffusionPipeline
    return kind(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def build_sdxl(seed: int = 0, in_channels: int = 4):
    """A StableDiffusionXLPipeline (two text encoders, text_time conditioning) at toy size.

    in_channels=9: a StableDiffusionXLInpaintPipeline with a 9-channel UNet.
    """
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.manual_seed(seed)
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    unet = _unet(in_channels, attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
                 addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
                 projection_class_embeddings_input_dim=6 * 8 + 32, cross_attention_dim=64)
    config = _text_encoder_config(tokenizer, projection_dim=32)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="leading", steps_offset=1)
    kind = StableDiffusionXLInpaintPipeline if in_channels == 9 else StableDiffusionXLPipeline
    return kind(vae=_vae(), text_encoder=CLIPTextModel(config), text_encoder_2=CLIPTextModelWithProjection(config),
                tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet, scheduler=scheduler)


def save(pipe, folder: Path) -> Path:
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
