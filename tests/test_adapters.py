"""Brand LoRA adapters: training smoke, and switching on one resident pipeline.

The pipelines are tiny real diffusers pipelines from seeded random weights (SD 1.5- and
SDXL-shaped), with the CLIP BPE fixture in tests/fixtures/tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adgen.adapters import AdapterRef, activate_adapter, adapter_info
from adgen.errors import ModelError
from adgen.training.lora import LoraTrainConfig, train_lora
from adgen.training.style_set import render_style_set

TOKENIZER_DIR = Path(__file__).parent / "fixtures" / "tokenizer"
# OCR and the product check have their own tests (tests/test_lora_train.py); these sets are text-free.
SMOKE = LoraTrainConfig(rank=4, alpha=8.0, steps=12, batch=4, lr=5e-3, min_images=12, threads=1, ocr=False,
                        product_check=False)
RED = {"red": "#C0392B", "rose": "#E8A0A0"}
BLUE = {"navy": "#1B2A41", "sky": "#6FA8DC"}


def _unet(**extra):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=16,
                                in_channels=4, out_channels=4, norm_num_groups=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), **extra)


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                         norm_num_groups=2, sample_size=32)


def _clip_config(tokenizer):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          pad_token_id=tokenizer.pad_token_id, vocab_size=len(tokenizer), hidden_size=32,
                          intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                          max_position_embeddings=77, projection_dim=32)


@pytest.fixture(scope="module")
def sd15():
    """An SD 1.5-shaped pipeline at toy size: 32 px native (16x16 latents, VAE factor 2)."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    pipe = StableDiffusionPipeline(
        vae=_vae(), text_encoder=CLIPTextModel(_clip_config(tokenizer)), tokenizer=tokenizer,
        unet=_unet(cross_attention_dim=32, attention_head_dim=4),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                clip_sample=False, set_alpha_to_one=False),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def sdxl():
    """An SDXL-shaped pipeline (two text encoders, text_time conditioning) at toy size."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.manual_seed(0)
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    config = _clip_config(tokenizer)
    unet = _unet(attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
                 addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
                 projection_class_embeddings_input_dim=6 * 8 + 32, cross_attention_dim=64)
    pipe = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=CLIPTextModel(config), text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet,
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                         timestep_spacing="leading", steps_offset=1))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def style_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("style")
    render_style_set(RED, root / "red", trigger="redco style", count=12, size=64, seed=1)
    render_style_set(BLUE, root / "blue", trigger="blueco style", count=12, size=64, seed=2)
    return root


@pytest.fixture(scope="module")
def trained(sd15, style_sets, tmp_path_factory):
    """Two adapters trained (smoke size) on the same base: red and blue brands."""
    out = tmp_path_factory.mktemp("lora")
    return {name: train_lora(sd15, style_sets / name, out / name, name=name, trigger=f"{name}co style",
                             config=SMOKE, base_model_sha256="test-base")
            for name in ("red", "blue")}


def _render(pipe, prompt="studio backdrop", seed=0, **extra):
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    with torch.inference_mode():
        return pipe(prompt, num_inference_steps=2, guidance_scale=1.0, generator=generator,
                    output_type="np", **extra).images[0]


def test_training_writes_weights_and_metadata(trained, sd15):
    folder = trained["red"]
    assert (folder / "red.safetensors").is_file() and (folder / "adapter.json").is_file()
    assert (folder / "lint-report.json").is_file() and not (folder / "checkpoints").exists()
    info = adapter_info(folder)
    assert info["rank"] == 4 and info["alpha"] == 8.0 and info["steps"] == 12
    assert info["trigger"] == "redco style" and info["base_model_sha256"] == "test-base"
    assert len(info["data"]) == 12 and all(len(d["sha256"]) == 64 for d in info["data"])
    assert np.isfinite(info["final_loss"])
    # The base pipeline carries no adapter after training.
    assert not any(sd15.get_list_adapters().values())


def test_alpha_survives_a_reload(trained, sd15):
    """alpha != rank must load as scale alpha/rank = 2, not 1 (the metadata pitfall)."""
    activate_adapter(sd15, AdapterRef("red", trained["red"], weight=1.0))
    scalings = {m.scaling["red"] for m in sd15.unet.modules() if hasattr(m, "scaling") and "red" in m.scaling}
    activate_adapter(sd15, None)
    assert scalings == {2.0}


def test_switching_reuses_the_pipeline_and_switches_back_exactly(trained, sd15):
    base = _render(sd15)
    red_ref, blue_ref = (AdapterRef(n, trained[n], weight=1.0) for n in ("red", "blue"))
    activate_adapter(sd15, red_ref)
    red = _render(sd15)
    activate_adapter(sd15, blue_ref)
    blue = _render(sd15)
    activate_adapter(sd15, red_ref)
    red_again = _render(sd15)
    activate_adapter(sd15, None)
    off = _render(sd15)

    assert set(sd15.get_list_adapters()["unet"]) == {"red", "blue"}  # each loaded once
    assert np.abs(red - base).mean() > 1e-3 and np.abs(red - blue).mean() > 1e-3
    np.testing.assert_allclose(red_again, red, atol=1e-6)
    np.testing.assert_allclose(off, base, atol=1e-6)


def test_weight_scales_the_adapter(trained, sd15):
    base = _render(sd15)
    activate_adapter(sd15, AdapterRef("red", trained["red"], weight=0.3))
    weak = _render(sd15)
    activate_adapter(sd15, AdapterRef("red", trained["red"], weight=1.0))
    strong = _render(sd15)
    activate_adapter(sd15, None)
    assert 0 < np.abs(weak - base).mean() < np.abs(strong - base).mean()


def test_fused_matches_unfused_and_unfuses_on_switch(trained, sd15):
    ref = AdapterRef("blue", trained["blue"], weight=0.8)
    activate_adapter(sd15, ref)
    unfused = _render(sd15)
    activate_adapter(sd15, ref, fuse=True)
    fused = _render(sd15)
    activate_adapter(sd15, None)
    off = _render(sd15)
    activate_adapter(sd15, ref)
    unfused_again = _render(sd15)
    activate_adapter(sd15, None)
    np.testing.assert_allclose(fused, unfused, atol=2e-3)
    np.testing.assert_allclose(unfused_again, unfused, atol=2e-3)
    assert np.abs(off - unfused).mean() > 1e-3


def test_sdxl_adapters_load_switch_and_fuse(sdxl, tmp_path):
    from diffusers import StableDiffusionXLPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    refs = []
    for i, name in enumerate(("alpha", "beta")):
        import torch

        torch.manual_seed(10 + i)
        config = LoraConfig(r=4, lora_alpha=4, init_lora_weights=False, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
        sdxl.unet.add_adapter(config, adapter_name=name)
        layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(sdxl.unet, adapter_name=name))
        StableDiffusionXLPipeline.save_lora_weights(tmp_path / name, unet_lora_layers=layers, weight_name=f"{name}.safetensors",
                                                    unet_lora_adapter_metadata=config.to_dict())
        sdxl.unet.delete_adapters(name)
        refs.append(AdapterRef(name, tmp_path / name, weight=1.0))
    base = _render(sdxl)
    activate_adapter(sdxl, refs[0])
    a = _render(sdxl)
    activate_adapter(sdxl, refs[1])
    b = _render(sdxl)
    activate_adapter(sdxl, refs[0], fuse=True)
    a_fused = _render(sdxl)
    activate_adapter(sdxl, None)
    off = _render(sdxl)
    assert np.abs(a - base).mean() > 1e-3 and np.abs(a - b).mean() > 1e-3
    np.testing.assert_allclose(a_fused, a, atol=2e-3)
    np.testing.assert_allclose(off, base, atol=1e-6)


def test_sha256_pin_is_checked(trained, sd15):
    with pytest.raises(ModelError, match="sha256"):
        activate_adapter(sd15, AdapterRef("pinned", trained["red"], sha256="0" * 64))


def test_training_again_after_adapters_were_used(trained, sd15, style_sets, tmp_path):
    """A pipeline that already switched brands (and was left with LoRA off) trains a new one."""
    activate_adapter(sd15, AdapterRef("red", trained["red"], weight=1.0))
    activate_adapter(sd15, None)
    weights = train_lora(sd15, style_sets / "blue", tmp_path / "again", name="again", trigger="again style",
                         config=SMOKE)
    assert np.isfinite(adapter_info(weights)["final_loss"])
    assert "again" not in sd15.get_list_adapters().get("unet", [])
    base = _render(sd15)
    activate_adapter(sd15, AdapterRef("again", weights, weight=1.0))
    assert np.abs(_render(sd15) - base).mean() > 1e-4  # it learned something
    activate_adapter(sd15, None)
