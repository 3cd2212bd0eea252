"""What a LoRA trains on: aspect-ratio buckets, captions, pixels, and a data order fixed by the seed.

- Buckets: every image goes to the bucket (width x height, about the base's native area, sides a
  multiple of the UNet's latent stride) whose aspect ratio is nearest its own; it is scaled to
  cover the bucket and centre-cropped, and the crop is recorded for SDXL's size conditioning.
- Captions: the image's `.txt` sidecar, else the brand's trigger and style words plus the file
  name stem ("oak-table_02.jpg" -> "oak table").
- Data order: batches never mix buckets; which batches form epoch e is a function of (seed, e)
  only, so step s always trains on the same images and a resumed run needs no saved sampler.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
# Width:height ratios offered as buckets (portrait, square, landscape up to 16:9 either way).
BUCKET_RATIOS = (9 / 16, 2 / 3, 3 / 4, 1.0, 4 / 3, 3 / 2, 16 / 9)


@dataclass(frozen=True)
class Bucket:
    width: int   # px
    height: int  # px

    @property
    def ratio(self) -> float:
        return self.width / self.height


@dataclass(frozen=True)
class Example:
    """One image as it trains: its pixels' file, caption, bucket and the text mask boxes (px)."""

    path: Path
    caption: str
    bucket: Bucket
    text_boxes: tuple[tuple[int, int, int, int], ...] = ()  # (left, top, right, bottom) in the file's px


def image_paths(images_dir: Path) -> list[Path]:
    """The image files of a folder, sorted by name (not recursive)."""
    return sorted(p for p in Path(images_dir).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def latent_stride(pipe) -> int:
    """px per step of a valid image side: VAE factor x the UNet's downsampling (64 for SD/SDXL)."""
    return int(pipe.vae_scale_factor) * 2 ** (len(pipe.unet.config.block_out_channels) - 1)


def native_resolution(pipe) -> int:
    """The base's native square side, px (512 SD 1.5, 1024 SDXL, 128 adgen-tiny)."""
    return int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)


def bucket_sizes(resolution: int, stride: int) -> tuple[Bucket, ...]:
    """One bucket per ratio in BUCKET_RATIOS, each about resolution^2 px, sides multiples of stride."""
    buckets = []
    for ratio in BUCKET_RATIOS:
        width = max(stride, round(resolution * math.sqrt(ratio) / stride) * stride)
        height = max(stride, round(resolution / math.sqrt(ratio) / stride) * stride)
        if Bucket(width, height) not in buckets:
            buckets.append(Bucket(width, height))
    return tuple(buckets)


def nearest_bucket(size: tuple[int, int], buckets: tuple[Bucket, ...]) -> Bucket:
    """The bucket whose aspect ratio is nearest (in log ratio) to an image of size (w, h)."""
    ratio = size[0] / size[1]
    return min(buckets, key=lambda b: abs(math.log(b.ratio / ratio)))


def caption_for(path: Path, *, trigger: str, style_words: tuple[str, ...] = ()) -> tuple[str, str]:
    """(caption, source): the `.txt` next to the image ("file"), or trigger + style words + the
    file name's words ("built")."""
    sidecar = path.with_suffix(".txt")
    if sidecar.is_file():
        text = " ".join(sidecar.read_text(encoding="utf-8", errors="replace").split())
        if text:
            return (text if text.startswith(trigger) else f"{trigger}, {text}"), "file"
    words = [w for w in re.split(r"[\s_\-.]+", path.stem.lower()) if w and not w.isdigit()]
    parts = [trigger, *style_words] + ([" ".join(words)] if words else [])
    return ", ".join(p for p in parts if p), "built"


def load_rgb(path: Path) -> tuple[Image.Image, str]:
    """The file as 8-bit RGB and what conversion that took ("" when none): CMYK, 16-bit, grey,
    palette and alpha images are converted here, the same way for the linter and the trainer."""
    with Image.open(path) as img:
        img.load()
        mode, note = img.mode, ""
        if mode == "CMYK":
            note = "CMYK converted to RGB"
            img = img.convert("RGB")
        elif mode in ("I;16", "I;16B", "I;16L", "I"):
            note = "16-bit greyscale scaled to 8-bit RGB"
            arr = np.asarray(img, dtype=np.float64)
            img = Image.fromarray(np.clip(arr / 257.0, 0, 255).astype(np.uint8), "L").convert("RGB")
        elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
            note = "transparency flattened onto white"
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, (255, 255, 255))
            img.paste(rgba, mask=rgba.getchannel("A"))
        elif mode != "RGB":
            note = f"{mode} converted to RGB"
            img = img.convert("RGB")
        if _sixteen_bit_rgb(path):
            note = "16-bit per channel converted to 8-bit"
        return img.copy(), note


def fit_to_bucket(image: Image.Image, bucket: Bucket) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    """Scale `image` to cover `bucket` and centre-crop it; returns (pixels, crop top-left (y, x)
    in the scaled image, the original size (h, w)): SDXL's size and crop conditioning."""
    width, height = image.size
    scale = max(bucket.width / width, bucket.height / height)
    scaled = (max(bucket.width, round(width * scale)), max(bucket.height, round(height * scale)))
    resized = image.resize(scaled, Image.LANCZOS)
    left, top = (scaled[0] - bucket.width) // 2, (scaled[1] - bucket.height) // 2
    return resized.crop((left, top, left + bucket.width, top + bucket.height)), (top, left), (height, width)


def keep_mask(example: Example, size: tuple[int, int], bucket: Bucket) -> np.ndarray:
    """1 where the loss counts, 0 over the example's text boxes, at the bucket's px (h, w)."""
    mask = Image.new("L", size, 255)
    if example.text_boxes:
        from PIL import ImageDraw

        draw = ImageDraw.Draw(mask)
        for box in example.text_boxes:
            draw.rectangle(box, fill=0)
    fitted, _, _ = fit_to_bucket(mask, bucket)
    return (np.asarray(fitted, np.float32) / 255.0 > 0.5).astype(np.float32)


def batches_per_epoch(bucket_of: list[int], batch: int) -> int:
    """Batches in one epoch: each bucket's images split into batches of at most `batch`."""
    counts = np.bincount(bucket_of) if bucket_of else np.array([], int)
    return int(sum(math.ceil(c / batch) for c in counts if c))


def epoch_batches(bucket_of: list[int], batch: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches (lists of item indices, one bucket each) of `epoch`, shuffled by (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    batches = []
    for bucket in sorted(set(bucket_of)):
        members = [i for i, b in enumerate(bucket_of) if b == bucket]
        members = [members[i] for i in rng.permutation(len(members))]
        batches += [members[i:i + batch] for i in range(0, len(members), batch)]
    return [batches[i] for i in rng.permutation(len(batches))]


def step_batch(bucket_of: list[int], batch: int, seed: int, step: int) -> list[int]:
    """The item indices step `step` (0-based) trains on."""
    per_epoch = batches_per_epoch(bucket_of, batch)
    return epoch_batches(bucket_of, batch, seed, step // per_epoch)[step % per_epoch]


def _sixteen_bit_rgb(path: Path) -> bool:
    """PNG/TIFF colour files with 16 bits per channel (Pillow reads them as 8-bit RGB silently)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
    except OSError:
        return False
    # PNG IHDR: bit depth is byte 24, colour type byte 25 (2 = RGB, 6 = RGBA).
    return head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 6)
