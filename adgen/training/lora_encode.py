"""The frozen half of LoRA training, computed once: each image's latent distribution, its loss
mask in latent space, and its caption's conditioning (SD 1.5: the text embeddings; SDXL: both
encoders' embeddings, the pooled embedding and the size/crop time ids).

`encode_examples(pipe, examples, mirror=, sdxl=) -> EncodedSet`. Latents stay on the CPU in
fp32 and move to the pipeline's device a batch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adgen.training.lora_data import Example, fit_to_bucket, keep_mask, load_rgb


@dataclass
class EncodedSet:
    """Per item (an image, or its mirror): latent mean/std (1,C,h,w), keep mask (1,1,h,w),
    caption index, time ids; per caption: embeddings and pooled embedding."""

    bucket_of: list[int]
    means: list = field(default_factory=list)
    stds: list = field(default_factory=list)
    keeps: list = field(default_factory=list)
    caption_of: list[int] = field(default_factory=list)
    time_ids: list = field(default_factory=list)
    embeds: object = None     # (captions, tokens, dim)
    pooled: object = None     # (captions, dim) for SDXL
    captions: list[str] = field(default_factory=list)
    live_pipe: object = None  # set when the text encoders train: captions are encoded every step
    # For a 9-channel (inpainting) UNet, per bucket: its extra inputs when nothing is given (mask all 1,
    # the blank image's latents), how it makes a plate without a product, so the adapter learns that mode.
    nothing_given: dict = field(default_factory=dict)

    def sample(self, idx: list[int], generator):
        """x0 drawn from each item's latent distribution (as the VAE's sample() does), and the masks."""
        import torch

        mean = torch.cat([self.means[i] for i in idx])
        std = torch.cat([self.stds[i] for i in idx])
        eps = torch.randn(mean.shape, generator=generator)
        return mean + std * eps, torch.cat([self.keeps[i] for i in idx])

    def unet_input(self, noisy, idx: list[int]):
        """The UNet's sample: the noisy latents, and for a 9-channel UNet its inputs with nothing given."""
        import torch

        if not self.nothing_given:
            return noisy
        extra = torch.cat([self.nothing_given[self.bucket_of[i]] for i in idx])
        return torch.cat([noisy, extra.to(noisy.device, noisy.dtype)], dim=1)

    def conditioning(self, idx: list[int], device, dtype) -> dict:
        """The UNet's keyword arguments for these items besides sample and timestep."""
        import torch

        captions = torch.tensor([self.caption_of[i] for i in idx])
        if self.live_pipe is not None:
            embeds, pooled = _encode_batch(self.live_pipe, [self.captions[c] for c in captions.tolist()],
                                           self.pooled is not None)
        else:
            embeds = self.embeds[captions]
            pooled = self.pooled[captions] if self.pooled is not None else None
        kwargs = {"encoder_hidden_states": embeds.to(device, dtype)}
        if pooled is not None:
            kwargs["added_cond_kwargs"] = {
                "text_embeds": pooled.to(device, dtype),
                "time_ids": torch.stack([self.time_ids[i] for i in idx]).to(device, dtype)}
        return kwargs


def encode_examples(pipe, examples: list[Example], *, mirror: bool, sdxl: bool) -> EncodedSet:
    """Encode every example (and its mirror when `mirror`) with the pipeline's frozen VAE and text encoders."""
    import torch

    captions = sorted({e.caption for e in examples})
    buckets = sorted({(e.bucket.width, e.bucket.height) for e in examples})
    encoded = EncodedSet(bucket_of=[], captions=captions)
    encoded.embeds, encoded.pooled = _encode_captions(pipe, captions, sdxl)
    vae = pipe.vae
    factor = int(pipe.vae_scale_factor)
    scale = vae.config.scaling_factor
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    for example in examples:
        image, _ = load_rgb(example.path)
        fitted, crop, original = fit_to_bucket(image, example.bucket)
        keep = keep_mask(example, image.size, example.bucket)
        pixels = np.asarray(fitted, np.float32) / 127.5 - 1.0
        for flipped in ((False, True) if mirror else (False,)):
            px = pixels[:, ::-1] if flipped else pixels
            km = keep[:, ::-1] if flipped else keep
            x = torch.from_numpy(px.transpose(2, 0, 1).copy())[None].to(vae.device, vae.dtype)
            with torch.no_grad():
                dist = vae.encode(x).latent_dist
            encoded.means.append(((dist.mean.float() - shift) * scale).cpu())
            encoded.stds.append((dist.std.float() * scale).cpu())
            # A latent cell counts only when every pixel under it is kept.
            mask = torch.from_numpy(km.copy())[None, None]
            encoded.keeps.append((torch.nn.functional.avg_pool2d(mask, factor) > 0.999).float())
            encoded.caption_of.append(captions.index(example.caption))
            encoded.bucket_of.append(buckets.index((example.bucket.width, example.bucket.height)))
            height, width = example.bucket.height, example.bucket.width
            encoded.time_ids.append(torch.tensor([*original, *crop, height, width], dtype=torch.float32))
    if int(pipe.unet.config.in_channels) == 9:
        for index, (width, height) in enumerate(buckets):
            blank = torch.zeros(1, 3, height, width, device=vae.device, dtype=vae.dtype)
            with torch.no_grad():
                latents = (vae.encode(blank).latent_dist.mean.float() - shift) * scale
            encoded.nothing_given[index] = torch.cat([torch.ones_like(latents[:, :1]), latents], dim=1).cpu()
    return encoded


def _encode_captions(pipe, captions: list[str], sdxl: bool):
    import torch

    embeds, pooled = [], []
    with torch.no_grad():
        for start in range(0, len(captions), 16):
            emb, pool = _encode_batch(pipe, captions[start:start + 16], sdxl)
            embeds.append(emb.float().cpu())
            if sdxl:
                pooled.append(pool.float().cpu())
    return torch.cat(embeds), (torch.cat(pooled) if sdxl else None)


def _encode_batch(pipe, captions: list[str], sdxl: bool):
    """(embeddings, pooled or None) of captions, on the pipeline's device (with grad if enabled)."""
    device = pipe.unet.device
    if sdxl:
        emb, _, pool, _ = pipe.encode_prompt(prompt=captions, device=device, num_images_per_prompt=1,
                                             do_classifier_free_guidance=False)
        return emb, pool
    emb, _ = pipe.encode_prompt(captions, device, 1, False)
    return emb, None
