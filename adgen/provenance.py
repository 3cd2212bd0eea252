"""Provenance on export: invisible watermark (adgen.watermark) -> encode with XMP AI labels -> C2PA sign last.

The order matters: the watermark changes pixels, so it goes on after the final resize and
before encoding; the XMP packet is part of the file, so it is written before the C2PA
manifest, whose hard binding hashes every byte outside itself. Anything that touches the
bytes after `apply_provenance` breaks the manifest (that is the point).
"""

from __future__ import annotations

import functools
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from adgen import __version__
from adgen.errors import InputError
from adgen.signing import ACCEPTED_EKU_OIDS, Signer
from adgen.watermark import (MIN_WATERMARK_SIDE_PX, WATERMARK_BITS, WATERMARK_METHOD, decode_watermark,
                             embed_watermark, watermark_payload_for)

if TYPE_CHECKING:
    from PIL import Image

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC_SOURCE_TYPES + "trainedAlgorithmicMedia"
# For images where real product / logo pixels were placed on a generated plate.
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = IPTC_SOURCE_TYPES + "compositeWithTrainedAlgorithmicMedia"

RECIPE_LABEL = "org.adgen.recipe"
WATERMARK_LABEL = "org.adgen.watermark"
APPROVAL_LABEL = "org.adgen.approval"
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}

# XMP namespaces. IPTC Photo Metadata Extension 2008-02-29 schema for DigitalSourceType.
# TC260: GB 45438-2025 (labelling of AI-generated synthetic content) leaves the implicit
# label's carrier to metadata; the form used in practice (TC260-PG-20258A guide; written
# by Doubao and other China-served generators, read by ExifTool as XMP-TC260:AIGC) is one
# property `TC260:AIGC` in namespace http://www.tc260.org.cn/ns/AIGC/1.0/ whose value is
# a JSON object with the seven fields below, as plain XMP text.
_NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "TC260": "http://www.tc260.org.cn/ns/AIGC/1.0/",
}
TC260_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1",
                "ContentPropagator", "PropagateID", "ReservedCode2")
# Label "1": the content is AI-generated/synthesised ("2" possibly, "3" suspected) — adgen
# always knows, so always "1", composites included.
TC260_LABEL_AI_GENERATED = "1"


@dataclass(frozen=True)
class ProvenanceCheck:
    """What an exported file says about itself, read back from its bytes."""

    c2pa_valid: bool                      # manifest present and state Valid or Trusted
    c2pa_state: str | None                # "Trusted" | "Valid" | "Invalid" | None (no manifest)
    c2pa_message: str                     # failure codes, or a one-line summary
    digital_source_type: str | None       # from XMP Iptc4xmpExt:DigitalSourceType
    tc260_label: dict | None              # the TC260 AIGC object from XMP
    c2pa_digital_source_type: str | None  # from the manifest's c2pa.created action
    recipe: dict | None                   # the org.adgen.recipe assertion
    watermark_payload: str | None         # decoded 32-bit payload, hex; None if not tried
    watermark_expected: str | None = None  # payload the signed manifest says was embedded
    approval: dict | None = None          # the org.adgen.approval assertion of an approved export

    @property
    def watermark_matches(self) -> bool | None:
        """True/False when the manifest records a watermark; None when there is none to check."""
        if self.watermark_expected is None:
            return None
        return self.watermark_payload == self.watermark_expected


def apply_provenance(image: Image.Image, *, fmt: str, quality: int | None, source_type: str,
                     recipe: dict, asset_id: str, signer: Signer, thumbnail: bool,
                     compact: bool = False, content_producer: str = "adgen",
                     watermark: bool = True) -> bytes:
    """Watermark, encode with XMP (IPTC + TC260) and C2PA-sign `image`; the file's bytes.

    compact: a progressive, Huffman-optimised JPEG or an optimised PNG (smaller, slower to write).
    """
    ext = _normalise_fmt(fmt)
    if not source_type.startswith(IPTC_SOURCE_TYPES):
        raise InputError("digital source type must be an IPTC newscodes URI",
                         field="source_type", value=source_type)
    try:
        recipe_json = json.loads(json.dumps(recipe))
    except (TypeError, ValueError) as exc:
        raise InputError(f"recipe is not JSON-serialisable: {exc}", field="recipe") from None

    # 1. invisible watermark (pixels), only where it can be read back
    image = _export_mode(image, ext)
    payload, marked = None, image
    if watermark and min(image.size) >= MIN_WATERMARK_SIDE_PX:
        payload = watermark_payload_for(asset_id)
        marked = embed_watermark(image, payload)

    # 2. encode with the XMP packet
    xmp = _xmp_packet(source_type, _tc260_label(asset_id, content_producer))
    encoded = _encode(marked, ext, quality=quality, compact=compact, xmp=xmp)
    if payload and _decode_bytes(encoded) != payload:
        # A mark that does not survive its own encoding is not claimed, and the pixels
        # go out unmarked: on saturated white (a marketplace main image) the chroma change
        # clips away and only turns white to 253-254; low JPEG quality can erase it too.
        payload = None
        encoded = _encode(image, ext, quality=quality, compact=compact, xmp=xmp)

    # 3. C2PA manifest, signed last
    manifest = _manifest(source_type, recipe_json, asset_id, ext, payload)
    return _sign(encoded, _MIME[ext], manifest, signer, thumbnail=thumbnail)


def verify_provenance(data: bytes, fmt: str, *,
                      trust_anchors: Path | str | None = None) -> ProvenanceCheck:
    """Read back and validate the provenance of exported bytes (no network)."""
    ext = _normalise_fmt(fmt)
    state, message, manifest = _read_c2pa(data, _MIME[ext], _anchor_pem(trust_anchors))
    assertions = {a.get("label"): a.get("data") for a in (manifest or {}).get("assertions", [])}
    source_type_xmp, tc260 = _read_xmp(data)
    watermark = None
    try:
        watermark = _decode_bytes(data)
    except OSError as exc:
        message = f"{message}; image unreadable: {exc}"
    expected = (assertions.get(WATERMARK_LABEL) or {}).get("payload")
    return ProvenanceCheck(
        c2pa_valid=state in ("Valid", "Trusted"),
        c2pa_state=state,
        c2pa_message=message,
        digital_source_type=source_type_xmp,
        tc260_label=tc260,
        c2pa_digital_source_type=_created_source_type(assertions),
        recipe=assertions.get(RECIPE_LABEL),
        watermark_payload=watermark,
        watermark_expected=expected,
        approval=assertions.get(APPROVAL_LABEL),
    )


def sign_approval(data: bytes, fmt: str, approval: dict, signer: Signer, *, title: str) -> bytes:
    """The exported bytes again, signed with a manifest recording their approval (who, when, which rules).

    The export's own manifest becomes the parent ingredient (c2pa.opened), so its recipe and
    watermark claims stay verifiable; the new one adds c2pa.published and the approval assertion.
    """
    ext = _normalise_fmt(fmt)
    agent = {"name": "adgen", "version": __version__}
    manifest = {"claim_generator_info": [agent], "title": title, "format": _MIME[ext], "assertions": [
        {"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.published", "softwareAgent": agent}]}},
        {"label": APPROVAL_LABEL, "data": json.loads(json.dumps(approval))}]}
    parent = {"title": title, "relationship": "parentOf", "label": "parent"}
    return _sign(data, _MIME[ext], manifest, signer, thumbnail=False, parent=parent)


def _decode_bytes(data: bytes) -> str | None:
    """The watermark payload in encoded image bytes; None below the watermarking size."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return decode_watermark(im) if min(im.size) >= MIN_WATERMARK_SIDE_PX else None


def _normalise_fmt(fmt: str) -> str:
    ext = fmt.lower().lstrip(".")
    if ext not in _MIME:
        raise InputError("provenance supports png and jpeg", field="fmt", value=fmt)
    return "jpeg" if ext == "jpg" else ext


def _export_mode(image: Image.Image, ext: str) -> Image.Image:
    if image.mode in ("RGB", "RGBA") and not (ext == "jpeg" and image.mode == "RGBA"):
        return image
    if image.mode in ("L", "P", "LA", "PA"):
        return image.convert("RGBA" if image.has_transparency_data and ext == "png" else "RGB")
    if ext == "jpeg" and image.mode == "RGBA":
        if image.getchannel("A").getextrema()[0] < 255:
            raise InputError("JPEG has no alpha; flatten the composition before export",
                             field="image.mode", value=image.mode)
        return image.convert("RGB")
    # CMYK (pack-front) needs its own path: the watermark and the C2PA thumbnail are RGB.
    raise InputError("provenance needs an RGB or RGBA image", field="image.mode", value=image.mode)


def _tc260_label(asset_id: str, content_producer: str) -> dict:
    # Propagator fields are for the platform that later distributes the file; the reserved
    # codes are the producer's own integrity fields, which adgen leaves to C2PA.
    return dict.fromkeys(TC260_FIELDS, "") | {
        "Label": TC260_LABEL_AI_GENERATED, "ContentProducer": content_producer,
        "ProduceID": asset_id}


def _xmp_packet(source_type: str, tc260: dict) -> bytes:
    aigc = json.dumps(tc260, ensure_ascii=False, separators=(",", ":"))
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="{_NS["x"]}">\n'
        f' <rdf:RDF xmlns:rdf="{_NS["rdf"]}">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:Iptc4xmpExt="{_NS["Iptc4xmpExt"]}"\n'
        f'    xmlns:TC260="{_NS["TC260"]}"\n'
        f'    Iptc4xmpExt:DigitalSourceType={quoteattr(source_type)}>\n'
        f'   <TC260:AIGC>{escape(aigc)}</TC260:AIGC>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>'
    ).encode("utf-8")


def _encode(image: Image.Image, ext: str, *, quality: int | None, compact: bool,
            xmp: bytes) -> bytes:
    from PIL import ImageFile, PngImagePlugin

    out = io.BytesIO()
    if ext == "png":
        # Pillow 13 ignores xmp= for PNG; XMP in PNG is an iTXt chunk with this keyword.
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=False)
        image.save(out, "PNG", pnginfo=info, optimize=compact)
    else:
        q = 90 if quality is None else quality
        if not 1 <= q <= 100:
            raise InputError("JPEG quality must be 1-100", field="quality", value=quality)
        # Full-resolution chroma at high quality keeps coloured type crisp; below 90 the
        # bytes matter more. Pillow sizes the optimize/progressive buffer at w*h bytes, which
        # busy images at q>=90 outgrow ("Suspension not allowed here"): give it 3 bytes a pixel.
        ImageFile.MAXBLOCK = max(ImageFile.MAXBLOCK, 3 * image.width * image.height)
        image.save(out, "JPEG", quality=q, optimize=compact, progressive=compact,
                   subsampling="4:4:4" if q >= 90 else "4:2:0", xmp=xmp)
    return out.getvalue()


def _manifest(source_type: str, recipe: dict, asset_id: str, ext: str,
              payload: str | None) -> dict:
    agent = {"name": "adgen", "version": __version__}
    assertions = [
        {"label": "c2pa.actions",
         "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type,
                               "softwareAgent": agent}]}},
        {"label": RECIPE_LABEL, "data": recipe},
    ]
    if payload is not None:
        assertions.append({"label": WATERMARK_LABEL,
                           "data": {"method": f"imwatermark.{WATERMARK_METHOD}",
                                    "bits": WATERMARK_BITS, "payload": payload,
                                    "asset_id": asset_id}})
    return {"claim_generator_info": [agent], "title": f"{asset_id}.{ext}",
            "format": _MIME[ext], "assertions": assertions}


def _sign(encoded: bytes, mime: str, manifest: dict, signer: Signer, *,
          thumbnail: bool, parent: dict | None = None) -> bytes:
    import c2pa

    anchors = signer.trust_anchor_path.read_text() if signer.trust_anchor_path else None
    info = c2pa.C2paSignerInfo(signer.alg.encode(), Path(signer.cert_chain_path).read_bytes(),
                               Path(signer.key_path).read_bytes(), None)
    out = io.BytesIO()
    try:
        with c2pa.Signer.from_info(info) as c2pa_signer, \
                c2pa.Builder(manifest, context=_context(anchors, thumbnail)) as builder:
            if parent is not None:  # the signed file being re-signed: its manifest is kept as the parent
                builder.add_ingredient(parent, mime, io.BytesIO(encoded))
            builder.sign(c2pa_signer, mime, io.BytesIO(encoded), out)
    except c2pa.C2paError as exc:
        raise InputError(f"C2PA signing failed: {exc}", file=str(signer.cert_chain_path)) from None
    return out.getvalue()


@functools.lru_cache(maxsize=8)
def _context(anchors_pem: str | None, thumbnail: bool):
    """c2pa Context: offline, our accepted EKUs, optional trust anchor, thumbnail on/off."""
    import c2pa

    settings = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "trust": {"trust_config": "\n".join(ACCEPTED_EKU_OIDS) + "\n"},
        "builder": {
            # We write c2pa.created ourselves, with the right digitalSourceType.
            "actions": {"auto_created_action": {"enabled": False}},
            # A 512 px JPEG keeps the manifest small enough for 150 KB ad slots when on.
            "thumbnail": {"enabled": thumbnail, "long_edge": 512, "quality": "medium"},
        },
    }
    if anchors_pem:
        settings["trust"]["user_anchors"] = anchors_pem
    return c2pa.Context.from_dict(settings)


def _anchor_pem(trust_anchors: Path | str | None) -> str | None:
    if trust_anchors is None:
        return None
    text = str(trust_anchors)
    return text if "-----BEGIN" in text else Path(text).read_text()


def _read_c2pa(data: bytes, mime: str, anchors_pem: str | None) -> tuple[str | None, str, dict | None]:
    import c2pa

    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None,
                                        _context(anchors_pem, False))
    except c2pa.C2paError as exc:
        return "Invalid", f"manifest unreadable: {exc}", None
    if reader is None:
        return None, "no C2PA manifest", None
    with reader:
        state = reader.get_validation_state()
        results = (reader.get_validation_results() or {}).get("activeManifest") or {}
        manifest = reader.get_active_manifest()
    failures = [f"{f.get('code')}: {f.get('explanation')}" for f in results.get("failure", [])]
    return state, "; ".join(failures) if failures else f"C2PA manifest {state}", manifest


def _created_source_type(assertions: dict) -> str | None:
    for label in ("c2pa.actions.v2", "c2pa.actions"):
        for action in (assertions.get(label) or {}).get("actions", []):
            if action.get("action") == "c2pa.created":
                return action.get("digitalSourceType")
    return None


def _read_xmp(data: bytes) -> tuple[str | None, dict | None]:
    """(IPTC DigitalSourceType, TC260 AIGC object) from the file's XMP packet, if any."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            xmp = im.info.get("xmp")
    except OSError:
        return None, None
    if not xmp:
        return None, None
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    # Untrusted input: no DTDs, so no entity expansion tricks reach the parser.
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        return None, None
    try:
        root = ElementTree.fromstring(text[text.index("<x:xmpmeta"):text.rindex("</x:xmpmeta>") + 12])
    except (ValueError, ElementTree.ParseError):
        return None, None
    source_attr = f"{{{_NS['Iptc4xmpExt']}}}DigitalSourceType"
    source_type, tc260 = None, None
    for desc in root.iter(f"{{{_NS['rdf']}}}Description"):
        source_type = source_type or desc.get(source_attr) or desc.findtext(source_attr)
        aigc = desc.findtext(f"{{{_NS['TC260']}}}AIGC")
        if aigc and tc260 is None:
            try:
                tc260 = json.loads(aigc)
            except ValueError:
                tc260 = None
    return source_type, tc260
