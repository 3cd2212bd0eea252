"""Provenance: exported bytes read back with c2pa-python, XMP labels, watermark, signing keys."""

from __future__ import annotations

import io
import json
import stat

import numpy as np
import pytest
from PIL import Image

from adgen.errors import InputError, NotFoundError
from adgen.provenance import (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA,
                              apply_provenance, verify_provenance)
from adgen.watermark import decode_watermark, embed_watermark, watermark_payload_for
from adgen.signing import CA_FILE, Signer, init_signing, load_or_init_signer

IMWATERMARK_MISSING = ("the reference watermark is not installed: "
                       "pip install --no-deps invisible-watermark==0.2.0 (make test does)")
RECIPE = {"sku": "MUG-01", "format": "ig-square", "seed": 1234, "prompt": "warm studio backdrop",
          "model": {"id": "adgen-tiny", "sha256": "ab" * 32}, "steps": 4}


@pytest.fixture(autouse=True)
def _adgen_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ADGEN_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return load_or_init_signer(tmp_path_factory.mktemp("adgen-home"))


def _plate(width: int = 512, height: int = 512, seed: int = 0) -> Image.Image:
    """A textured gradient, like a generated backdrop (flat white cannot hold the mark)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / width * 200 + 30, y / height * 180 + 40, (x + y) / (width + height) * 150 + 60], -1)
    noise = np.random.default_rng(seed).normal(0, 6, rgb.shape)
    return Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8))


def _export(signer, fmt="png", **kw):
    args = dict(fmt=fmt, quality=90, source_type=TRAINED_ALGORITHMIC_MEDIA, recipe=RECIPE,
                asset_id="MUG-01/ig-square-v1", signer=signer, thumbnail=False)
    args.update(kw)
    image = args.pop("image", None) or _plate()
    return apply_provenance(image, **args)


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_export_reads_back_valid_with_both_labels_recipe_and_watermark(signer, fmt):
    data = _export(signer, fmt)
    check = verify_provenance(data, fmt, trust_anchors=signer.trust_anchor_path)

    assert check.c2pa_valid and check.c2pa_state == "Trusted", check.c2pa_message
    assert check.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert check.c2pa_digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert check.tc260_label["Label"] == "1"
    assert check.tc260_label["ProduceID"] == "MUG-01/ig-square-v1"
    assert set(check.tc260_label) == {"Label", "ContentProducer", "ProduceID", "ReservedCode1",
                                      "ContentPropagator", "PropagateID", "ReservedCode2"}
    assert check.recipe == RECIPE
    assert check.watermark_expected == watermark_payload_for("MUG-01/ig-square-v1")
    assert check.watermark_matches is True
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == fmt.upper() and im.size == (512, 512)


def test_reads_back_with_c2pa_python_directly(signer):
    import c2pa

    data = _export(signer, "jpeg")
    ctx = c2pa.Context.from_dict({"trust": {"trust_config": "1.3.6.1.4.1.62558.2.1\n"},
                                  "verify": {"remote_manifest_fetch": False}})
    with c2pa.Reader("image/jpeg", io.BytesIO(data), context=ctx) as reader:
        assert reader.get_validation_state() == "Valid"
        labels = [a["label"] for a in reader.get_active_manifest()["assertions"]]
    assert "org.adgen.recipe" in labels and any(label.startswith("c2pa.actions") for label in labels)


def test_without_the_local_anchor_the_manifest_is_valid_but_not_trusted(signer):
    check = verify_provenance(_export(signer, "png"), "png")
    assert check.c2pa_valid and check.c2pa_state == "Valid"


def test_composite_source_type_is_carried_in_xmp_and_manifest(signer):
    data = _export(signer, "png", source_type=COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)
    check = verify_provenance(data, "png")
    assert check.digital_source_type == COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    assert check.c2pa_digital_source_type == COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_tampered_bytes_are_not_valid(signer, fmt):
    data = bytearray(_export(signer, fmt))
    # Flip bits in the last part of the pixel stream, away from the headers and manifest.
    for i in range(len(data) - 400, len(data) - 300):
        data[i] ^= 0x5A
    check = verify_provenance(bytes(data), fmt, trust_anchors=signer.trust_anchor_path)
    assert not check.c2pa_valid
    assert check.c2pa_state == "Invalid"
    assert "mismatch" in check.c2pa_message or "hash" in check.c2pa_message


def test_resaved_pixels_lose_the_manifest_but_keep_the_watermark(signer):
    with Image.open(io.BytesIO(_export(signer, "png"))) as im:
        out = io.BytesIO()
        im.convert("RGB").save(out, "JPEG", quality=85)
    check = verify_provenance(out.getvalue(), "jpeg")
    assert check.c2pa_state is None and not check.c2pa_valid
    assert check.digital_source_type is None and check.tc260_label is None
    assert check.watermark_payload == watermark_payload_for("MUG-01/ig-square-v1")


def test_watermark_round_trips_through_jpeg():
    payload = watermark_payload_for("asset-42")
    marked = embed_watermark(_plate(320, 300, seed=3), payload)
    assert decode_watermark(marked) == payload
    buf = io.BytesIO()
    marked.save(buf, "JPEG", quality=80)
    with Image.open(buf) as back:
        assert decode_watermark(back) == payload
    assert decode_watermark(_plate(320, 300, seed=3)) != payload


def test_watermark_matches_imwatermark_pixel_for_pixel_and_both_decoders_agree():
    imwatermark = pytest.importorskip("imwatermark", reason=IMWATERMARK_MISSING)
    image = _plate(330, 298, seed=5)  # sides not multiples of 8: the edge rows stay as they were
    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bytes", bytes.fromhex("a1b2c3d4"))
    bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    reference = np.ascontiguousarray(encoder.encode(bgr, "dwtDctSvd")[:, :, ::-1])
    ours = np.asarray(embed_watermark(image, "a1b2c3d4"))
    assert np.array_equal(ours, reference)
    decoder = imwatermark.WatermarkDecoder("bytes", 32)
    assert decoder.decode(np.ascontiguousarray(ours[:, :, ::-1]), "dwtDctSvd").hex() == "a1b2c3d4"
    assert decode_watermark(Image.fromarray(reference)) == "a1b2c3d4"


def test_watermark_keeps_alpha():
    rgba = _plate(300, 300).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((300, 300)))
    marked = embed_watermark(rgba, "01020304")
    assert marked.mode == "RGBA"
    assert np.array_equal(np.asarray(marked.getchannel("A")), np.asarray(rgba.getchannel("A")))


def test_small_images_are_not_watermarked(signer):
    check = verify_provenance(_export(signer, "png", image=_plate(300, 250)), "png")
    assert check.c2pa_valid
    assert check.watermark_payload is None and check.watermark_expected is None
    assert check.watermark_matches is None


def test_pure_white_is_left_untouched_and_no_watermark_is_claimed(signer):
    white = Image.new("RGB", (400, 400), "white")
    data = _export(signer, "png", image=white)
    with Image.open(io.BytesIO(data)) as im:
        assert np.asarray(im).min() == 255
    assert verify_provenance(data, "png").watermark_expected is None


def test_thumbnail_adds_bytes_and_can_be_left_out(signer):
    without = _export(signer, "jpeg", thumbnail=False)
    with_thumb = _export(signer, "jpeg", thumbnail=True)
    assert len(with_thumb) > len(without) + 2000
    assert verify_provenance(with_thumb, "jpeg").c2pa_valid


@pytest.mark.parametrize("kw, field", [
    ({"fmt": "gif"}, "fmt"),
    ({"source_type": "ai"}, "source_type"),
    ({"recipe": {"seed": object()}}, "recipe"),
    ({"fmt": "jpeg", "quality": 0}, "quality"),
])
def test_bad_arguments_name_the_field(signer, kw, field):
    with pytest.raises(InputError) as err:
        _export(signer, **kw)
    assert err.value.field == field


def test_transparent_image_cannot_become_jpeg(signer):
    clear = Image.new("RGBA", (300, 300), (255, 0, 0, 0))
    with pytest.raises(InputError, match="alpha"):
        _export(signer, "jpeg", image=clear)


def test_init_signing_is_idempotent_and_keeps_the_key_private(tmp_path):
    key, chain = init_signing(tmp_path / "keys")
    first = (key.read_bytes(), chain.read_bytes())
    assert init_signing(tmp_path / "keys") == (key, chain)
    assert (key.read_bytes(), chain.read_bytes()) == first
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / CA_FILE).is_file()


def test_leaf_meets_the_c2pa_profile(tmp_path):
    from cryptography import x509

    _, chain = init_signing(tmp_path)
    leaf, ca = x509.load_pem_x509_certificates(chain.read_bytes())
    assert leaf.issuer == ca.subject != leaf.subject
    ekus = {o.dotted_string for o in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    assert "1.3.6.1.4.1.62558.2.1" in ekus
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_load_or_init_signer_defaults_to_adgen_home(tmp_path):
    signer = load_or_init_signer()
    assert signer.key_path == tmp_path / "home" / "keys" / "signer.key"
    assert load_or_init_signer() == signer


def test_each_adgen_home_signs_with_its_own_key_in_one_process(tmp_path, monkeypatch):
    """The export signer is looked up per ADGEN_HOME: a process that switches homes (tests, an
    embedding app) signs with the new home's key, and makes one there when it has none."""
    from adgen.encoding import encode

    exported = {}
    for name in ("a", "b"):
        monkeypatch.setenv("ADGEN_HOME", str(tmp_path / name))
        exported[name] = encode(_plate(128, 128), file_type="png", max_kb=10_000, recipe=RECIPE,
                                asset_id=f"MUG-01/{name}", composite=False).data
    for name in ("a", "b"):
        assert (tmp_path / name / "keys" / "signer.key").is_file(), f"home {name} made its own key"
    for name, other in (("a", "b"), ("b", "a")):
        own = verify_provenance(exported[name], "png", trust_anchors=tmp_path / name / "keys" / CA_FILE)
        foreign = verify_provenance(exported[name], "png", trust_anchors=tmp_path / other / "keys" / CA_FILE)
        assert own.c2pa_state == "Trusted", f"home {name}'s export, its own CA: {own.c2pa_message}"
        assert foreign.c2pa_state == "Valid", f"home {name}'s export is not signed under home {other}'s CA"


def test_half_a_key_pair_is_an_input_error(tmp_path):
    key, _chain = init_signing(tmp_path)
    _chain.unlink()
    with pytest.raises(InputError, match="without its pair"):
        init_signing(tmp_path)
    assert key.exists()


def test_signer_names_a_missing_file(tmp_path):
    with pytest.raises(NotFoundError) as err:
        Signer(tmp_path / "nope.key", tmp_path / "nope.pem")
    assert err.value.field == "key_path"


def test_importing_adgen_provenance_stays_light():
    import subprocess
    import sys

    heavy = ("c2pa", "cv2", "numpy", "cryptography", "imwatermark", "torch")
    code = f"import sys, adgen.provenance; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unreadable_bytes_are_reported_not_raised():
    check = verify_provenance(b"not an image at all", "png")
    assert not check.c2pa_valid and check.c2pa_state == "Invalid"
    assert check.recipe is None and check.watermark_payload is None


def test_a_key_that_does_not_match_the_certificate_is_an_input_error(tmp_path, signer):
    other_key, _ = init_signing(tmp_path / "other")
    mismatched = Signer(other_key, signer.cert_chain_path)
    with pytest.raises(InputError, match="C2PA signing failed"):
        _export(mismatched, "jpeg", image=_plate(200, 200))


def test_watermark_matches_imwatermark_on_a_fine_saturated_pattern():
    # An 8-px chroma checker: the blocks' top two singular values are close, the case the fast
    # power iteration hands to LAPACK.
    imwatermark = pytest.importorskip("imwatermark", reason=IMWATERMARK_MISSING)
    rows, cols = np.mgrid[0:320, 0:320]
    pixels = np.where((((rows // 2 + cols // 2) % 2) == 0)[:, :, None], [255, 0, 0], [0, 255, 255])
    image = Image.fromarray(pixels.astype(np.uint8))
    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bytes", bytes.fromhex("0badf00d"))
    reference = encoder.encode(np.ascontiguousarray(np.asarray(image)[:, :, ::-1]), "dwtDctSvd")[:, :, ::-1]
    assert np.array_equal(np.asarray(embed_watermark(image, "0badf00d")), reference)


def test_top_singular_triplet_matches_lapack_including_ties():
    from adgen.watermark import _top_singular

    rng = np.random.default_rng(7)
    dominant = rng.normal(0, 8, (200, 4, 4)) + 256.0  # like U-channel blocks: DC far above the rest
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    tied = np.stack([300.0 * rotation, np.diag([500.0, 500.0, 3.0, 1.0]), np.zeros((4, 4))])
    blocks = np.concatenate([dominant, tied])
    top, left, right = _top_singular(blocks)
    u, s, vt = np.linalg.svd(blocks)
    assert np.allclose(top, s[:, 0], rtol=1e-13, atol=1e-12)
    ours = top[:, None, None] * left[:, :, None] * right[:, None, :]
    lapack = s[:, 0, None, None] * u[:, :, :1] * vt[:, None, 0, :]
    assert np.allclose(ours, lapack, rtol=0, atol=1e-9)


def test_the_read_back_reuses_the_survival_checks_decode_of_the_same_pixels(signer, monkeypatch):
    import adgen.watermark as watermark

    watermark._DECODED.clear()
    decoded = []
    real = watermark._decode_pixels
    monkeypatch.setattr(watermark, "_decode_pixels", lambda rgb: decoded.append(rgb.size) or real(rgb))
    data = _export(signer, "jpeg", image=_plate(400, 300, seed=11))
    assert len(decoded) == 1  # the survival check, on the encoded pixels
    check = verify_provenance(data, "jpeg")
    assert check.watermark_matches is True and len(decoded) == 1  # same pixels: read from the kept result
    with Image.open(io.BytesIO(data)) as im:
        changed = im.convert("RGB")
    changed.putpixel((0, 0), (0, 0, 0))
    decode_watermark(changed)
    assert len(decoded) == 2


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_an_approved_export_carries_the_approval_and_keeps_its_origin(signer, fmt):
    import c2pa

    from adgen.provenance import sign_approval

    original = _export(signer, fmt)
    approval = {"state": "approved", "reviewer": {"key_id": "k1", "tenant": "shop"}, "approved_at": "2026-01-01T00:00:00Z",
                "rules": [{"rule": "text.contrast", "status": "warn"}]}
    approved = sign_approval(original, fmt, approval, signer, title="MUG-01.png")
    check = verify_provenance(approved, fmt, trust_anchors=signer.trust_anchor_path)
    assert check.c2pa_state == "Trusted", check.c2pa_message
    assert check.approval == approval
    assert check.watermark_payload == watermark_payload_for("MUG-01/ig-square-v1")  # the pixels are untouched
    assert verify_provenance(original, fmt, trust_anchors=signer.trust_anchor_path).approval is None
    with c2pa.Reader(f"image/{fmt}", io.BytesIO(approved)) as reader:  # the export's manifest is the parent
        manifests = json.loads(reader.json())["manifests"].values()
    assert [a["data"] for m in manifests for a in m["assertions"] if a["label"] == "org.adgen.recipe"] == [RECIPE]
    tampered = bytearray(approved)
    tampered[len(tampered) // 2] ^= 0xFF
    assert not verify_provenance(bytes(tampered), fmt, trust_anchors=signer.trust_anchor_path).c2pa_valid
