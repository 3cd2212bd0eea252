"""Encode the final pixels to the bytes that ship: watermark, XMP labels and C2PA signature
included, within the format's file-size limit."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

JPEG_QUALITIES = (90, 84, 78, 70, 62, 55)  # tried in order until the signed file fits the slot
# The cheapest settings first: a baseline JPEG (or default PNG) is 5x (PNG 1.6x) quicker to
# write than a progressive, Huffman-optimised one (or an optimised PNG), which is only ~8 %
# (PNG ~2 %) smaller. Compact coding is tried at a quality before the quality drops.
LADDER = {"jpeg": tuple((quality, compact) for quality in JPEG_QUALITIES for compact in (False, True)),
          "png": ((None, False), (None, True))}
THUMBNAIL_MAX_KB = 150  # slots this small cannot afford a ~20 KB C2PA thumbnail


@dataclass(frozen=True)
class Encoded:
    data: bytes
    file_type: str      # png | jpeg
    quality: int | None
    attempts: tuple[dict, ...]   # each try: settings and resulting KB


def encode(image: Image.Image, *, file_type: str, max_kb: int, recipe: dict, asset_id: str,
           composite: bool) -> Encoded:
    """Watermark, encode with XMP and sign (provenance order), climbing LADDER until the file fits max_kb."""
    from adgen.provenance import (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA,
                                  apply_provenance)

    source_type = COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA if composite else TRAINED_ALGORITHMIC_MEDIA
    attempts = []
    for quality, compact in LADDER[file_type]:
        data = apply_provenance(image, fmt=file_type, quality=quality, source_type=source_type, recipe=recipe,
                                asset_id=asset_id, signer=_signer(), thumbnail=max_kb > THUMBNAIL_MAX_KB,
                                compact=compact)
        attempts.append({"fix": "encode", "file_type": file_type, "quality": quality, "compact": compact,
                         "kb": round(len(data) / 1024, 1), "fits": len(data) <= max_kb * 1024})
        if len(data) <= max_kb * 1024:
            break
    return Encoded(data, file_type, quality, tuple(attempts))


def _signer():
    """The signer under the current ADGEN_HOME, looked up on every call: one process may sign for
    several homes in turn (tests, an embedding app) and keys replaced on disk are picked up. Not
    cached: the lookup is a few stat calls (~35 us) beside tens of ms of encoding and signing."""
    from adgen.settings import adgen_home
    from adgen.signing import load_or_init_signer

    return load_or_init_signer(adgen_home())
