"""Signing credentials for C2PA manifests: the user's key + chain, or a local CA and leaf.

C2PA (c2pa-rs 0.91, via c2pa-python) refuses a bare self-signed certificate, so when the
user brings none, `init_signing` makes a small local CA and issues a leaf that meets the
C2PA certificate profile: ES256 (ECDSA P-256 + SHA-256), X.509 v3, issued by a CA (not
self-signed), KeyUsage digitalSignature (critical), basicConstraints cA=false, an EKU the
validator accepts (we carry both the C2PA claim-signing OID and RFC 9336 documentSigning),
and subject/authority key identifiers. Such a manifest reads back as "Valid"; it is
"Trusted" only for a reader that is given the local CA as a trust anchor.
"""

from __future__ import annotations

import datetime
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from adgen.errors import InputError, NotFoundError
from adgen.settings import adgen_home, create_private_file, private_dir, write_private

SIGNING_ALGS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")

# File names under $ADGEN_HOME/keys/. A user who has a real certificate puts their key
# and PEM chain (leaf first) here under these names, or builds a Signer with their paths.
KEY_FILE = "signer.key"
CHAIN_FILE = "signer-chain.pem"
CA_FILE = "local-ca.pem"
LOCK_FILE = ".init.lock"  # held while a process makes the files

# EKUs c2pa-rs accepts for claim signing (its valid_eku_oids.cfg). Since c2pa-rs 0.68 the
# accepted list is empty unless settings pass one as `trust.trust_config`, and then even a
# correct certificate fails "certificate missing required EKU" at sign time.
ACCEPTED_EKU_OIDS = (
    "1.3.6.1.5.5.7.3.4",         # id-kp-emailProtection
    "1.3.6.1.5.5.7.3.36",        # id-kp-documentSigning (RFC 9336)
    "1.3.6.1.5.5.7.3.8",         # id-kp-timeStamping
    "1.3.6.1.5.5.7.3.9",         # id-kp-OCSPSigning
    "1.3.6.1.4.1.311.76.59.1.9",  # Microsoft C2PA signing
    "1.3.6.1.4.1.62558.2.1",     # c2pa-kp-claimSigning
)
_LEAF_EKUS = ("1.3.6.1.4.1.62558.2.1", "1.3.6.1.5.5.7.3.36")
_CA_YEARS, _LEAF_YEARS = 10, 5


@dataclass(frozen=True)
class Signer:
    """Where the signing key and its PEM certificate chain (leaf first) are, and the alg."""

    key_path: Path
    cert_chain_path: Path
    alg: str = "es256"
    # Root that made the chain, when adgen made it: verifiers may pass it as a trust anchor.
    trust_anchor_path: Path | None = None

    def __post_init__(self) -> None:
        if self.alg not in SIGNING_ALGS:
            raise InputError(f"unknown signing algorithm; use one of {', '.join(SIGNING_ALGS)}",
                             field="alg", value=self.alg)
        for field, path in (("key_path", self.key_path), ("cert_chain_path", self.cert_chain_path)):
            if not Path(path).is_file():
                raise NotFoundError("signing file does not exist", file=str(path), field=field)


def load_or_init_signer(home: Path | None = None) -> Signer:
    """The signer under `home`/keys (default ADGEN_HOME), made with a local CA if absent."""
    key_path, chain_path = init_signing((home or adgen_home()) / "keys")
    ca_path = key_path.parent / CA_FILE
    return Signer(key_path, chain_path, "es256", ca_path if ca_path.is_file() else None)


def init_signing(keys_dir: Path) -> tuple[Path, Path]:
    """Make a local CA + ES256 leaf in `keys_dir` unless a key and chain are there already.

    Safe when several processes start at once (workers, a server and a CLI): one makes the
    files under an exclusive lock, the others wait and use them. An existing pair is checked:
    a key that is not the chain's leaf key is an InputError naming both files.
    """
    keys_dir = Path(keys_dir)
    key_path, chain_path = keys_dir / KEY_FILE, keys_dir / CHAIN_FILE
    private_dir(keys_dir)
    if not (key_path.is_file() and chain_path.is_file()):
        with _exclusive(keys_dir / LOCK_FILE):
            _make_unless_present(keys_dir, key_path, chain_path)
    create_private_file(key_path, create=False)  # a key others can read is tightened (and logged)
    _check_pair(key_path, chain_path)
    return key_path, chain_path


def _make_unless_present(keys_dir: Path, key_path: Path, chain_path: Path) -> None:
    """With the lock held: the files another process made meanwhile are kept; else make them."""
    if key_path.is_file() and chain_path.is_file():
        return
    if key_path.is_file() != chain_path.is_file():
        present = key_path if key_path.is_file() else chain_path
        raise InputError(f"found {present.name} without its pair; add the missing file or "
                         "remove both to have adgen make a local signing certificate",
                         file=str(keys_dir))
    ca_pem, key_pem, chain_pem = _make_local_ca_and_leaf()
    # Chain and CA first, key last: the key's presence is what marks the set complete.
    write_private(keys_dir / CA_FILE, ca_pem)
    write_private(chain_path, chain_pem)
    write_private(key_path, key_pem)


@contextmanager
def _exclusive(lock_path: Path):
    """An exclusive flock on lock_path, held for the block; other processes wait for it."""
    import fcntl

    create_private_file(lock_path)
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _check_pair(key_path: Path, chain_path: Path) -> None:
    """The private key must be the public key of the chain's first (leaf) certificate.

    Checked again only when either file changed (inode, size, mtime): exports look the signer
    up on every encode, and parsing both costs ~0.1 ms against a few stat calls.
    """
    signature = tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in (key_path.stat(), chain_path.stat()))
    _check_pair_once(key_path, chain_path, signature)


@lru_cache(maxsize=64)
def _check_pair_once(key_path: Path, chain_path: Path, signature: tuple) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        leaf = x509.load_pem_x509_certificates(chain_path.read_bytes())[0]
    except (ValueError, TypeError) as exc:
        raise InputError(f"unreadable signing key or certificate chain ({exc})",
                         file=f"{key_path}, {chain_path}") from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise InputError(f"{key_path.name} is not the key of the first certificate in {chain_path.name}; "
                         "put the matching pair there, or remove both to have adgen make a local one",
                         file=f"{key_path}, {chain_path}")


def _make_local_ca_and_leaf() -> tuple[bytes, bytes, bytes]:
    """PEM bytes of (CA certificate, leaf private key PKCS#8, leaf + CA chain)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(hours=1)  # tolerate small clock skew between machines

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "adgen (local)"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("adgen local signing CA")).issuer_name(name("adgen local signing CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(name("adgen claim signer")).issuer_name(ca_cert.subject)
        .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=365 * _LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(o) for o in _LEAF_EKUS]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # The CA key is not kept: nothing else is ever issued, and a key on disk is a liability.
    pem = serialization.Encoding.PEM
    ca_pem = ca_cert.public_bytes(pem)
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    return ca_pem, key_pem, leaf_cert.public_bytes(pem) + ca_pem
