"""Hostile URLs, over real sockets on 127.0.0.x: webhooks and fetched product images (adgen.netfetch).

127.0.0.2 plays an allowed receiver or image host, 127.0.0.1 and 127.0.0.3 the inside of the
network. Host names are answered by a fake resolver (socket.getaddrinfo, in-process) so no DNS
query leaves the machine; all traffic goes to 127.0.0.0/8.
"""

from __future__ import annotations

import datetime
import io
import logging
import shutil
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from adgen.catalogue import read_catalogue
from adgen.limits import ImageBomb, Limits, TooLarge
from adgen.netfetch import FetchError, FetchPolicy, InwardAddress, RefusedByPolicy, TimedOut, fetch_image
from adgen.webhooks import CallbackPolicy, deliver

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
CAN_PNG = (IMAGES / "matcha-can.png").read_bytes()
PAYLOAD = {"type": "job.done", "job": {"id": "job_1"}}
SECRET = "whsec_test"


# --- a fake resolver, a small web server, a raw socket server ------------------------------------

@pytest.fixture
def dns(monkeypatch):
    """Answers for made-up host names, one list per lookup (the last repeats); IP literals resolve as usual.

    Any other name fails, so a test can never send a DNS query out.
    """
    real = socket.getaddrinfo
    answers: dict[str, list] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in answers:
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
            except OSError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            return real(host, port, family, type, proto, flags)
        lookups.append(name)
        queue = answers[name]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    getaddrinfo.answers, getaddrinfo.lookups = answers, lookups
    return getaddrinfo


class Site:
    """A web server on one loopback address: routes map a path to (status, headers, body); requests are kept."""

    def __init__(self, host: str, port: int = 0, routes: dict | None = None, tls: ssl.SSLContext | None = None):
        self.requests: list[tuple[str, str, dict]] = []
        self.routes = routes or {"/hook": (200, {}, b"ok")}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

            def _answer(self):
                site.requests.append((self.command, self.path, dict(self.headers)))
                status, headers, body = site.routes.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def two_sites(first: str, second: str, **kwargs) -> tuple[Site, Site]:
    """Sites on two addresses with the same port, as one host name resolving two ways would reach."""
    one = Site(first, **kwargs)
    for _ in range(50):
        try:
            return one, Site(second, port=one.port, **kwargs)
        except OSError:  # that port is taken on the second address: try another
            one.close()
            one = Site(first, **kwargs)
    raise RuntimeError("no port free on both addresses")


class RawServer:
    """Accepts connections on a loopback address and hands each to talk(conn); counts the bytes sent."""

    def __init__(self, talk, host: str = "127.0.0.1"):
        self.talk, self.sent, self.done = talk, 0, threading.Event()
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        deadline = time.monotonic() + 60
        while not self.done.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    read_request(conn)
                    self.talk(self, conn)
                except OSError:
                    pass  # the client went away: what these servers are for

    def send(self, conn, data: bytes):
        conn.sendall(data)
        self.sent += len(data)

    def close(self):
        self.done.set()
        self.thread.join(timeout=30)
        self.sock.close()


def read_request(conn) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def endless_body(server: RawServer, conn, *, headers: bytes = b"Content-Length: 268435456\r\n", first: bytes = b""):
    """200, then up to 256 MiB (or 30 s), until the client hangs up."""
    server.send(conn, b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n" + first)
    chunk, until = b"\0" * 65536, time.monotonic() + 30
    while server.sent < 256 * 1024 * 1024 and time.monotonic() < until and not server.done.is_set():
        server.send(conn, chunk)


def trickle(server: RawServer, conn, *, head: bytes = b"HTTP/1.1 200 OK\r\nX-Slow: ", seconds: float = 12):
    """A byte every 0.25 s for `seconds`: never silent long enough for a per-read timeout."""
    server.send(conn, head)
    until = time.monotonic() + seconds
    while time.monotonic() < until and not server.done.is_set():
        server.send(conn, b"a")
        time.sleep(0.25)


def hook_policy(*hosts: str, **overrides) -> CallbackPolicy:
    return CallbackPolicy(allowed_hosts=hosts, **{"attempts": 1, "first_delay_s": 0.0, "timeout_s": 5.0, **overrides})


# --- webhooks -------------------------------------------------------------------------------------

def test_webhook_connects_to_the_address_it_checked_not_to_a_second_lookup(dns):
    allowed, internal = two_sites("127.0.0.2", "127.0.0.1")
    try:
        # DNS rebinding: the first answer passes the check, every later one points inside.
        dns.answers["hooks.test"] = ["127.0.0.2", "127.0.0.1"]
        url = f"http://hooks.test:{allowed.port}/hook"
        result = deliver(url, PAYLOAD, SECRET, hook_policy("hooks.test", "127.0.0.2"))
        assert internal.requests == []
        assert result == (True, 1, "HTTP 200") and len(allowed.requests) == 1
        assert allowed.requests[0][2]["Host"] == f"hooks.test:{allowed.port}"  # the name, not the address
        assert dns.lookups == ["hooks.test"]  # resolved once
    finally:
        allowed.close()
        internal.close()


def test_webhook_to_a_forbidden_address_is_refused_once_and_reaches_nobody(dns):
    internal = Site("127.0.0.1")
    try:
        dns.answers["hooks.test"] = ["127.0.0.1"]
        sleeps = []
        result = deliver(f"http://hooks.test:{internal.port}/hook", PAYLOAD, SECRET,
                         hook_policy("hooks.test", attempts=6), sleep=sleeps.append)
        assert result == (False, 1, "refused by policy") and sleeps == []  # not retried
        assert internal.requests == []
    finally:
        internal.close()


def test_webhook_never_reads_a_huge_response_body():
    server = RawServer(endless_body)
    try:
        started = time.monotonic()
        result = deliver(f"http://127.0.0.1:{server.port}/hook", PAYLOAD, SECRET, hook_policy("127.0.0.1"))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    # The server could push only what socket buffers hold before we hung up (256 MiB were on offer).
    assert server.sent < 32 * 1024 * 1024, server.sent
    assert elapsed < 5 + 3
    assert result == (True, 1, "HTTP 200")


def test_webhook_attempt_has_a_wall_clock_deadline_that_trickling_cannot_stretch():
    server = RawServer(trickle)
    try:
        started = time.monotonic()
        result = deliver(f"http://127.0.0.1:{server.port}/hook", PAYLOAD, SECRET,
                         hook_policy("127.0.0.1", timeout_s=1.5))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < 1.5 + 3, elapsed  # the server would trickle for 12 s
    assert result == (False, 1, "timed out")


def test_webhook_outcome_is_a_coarse_category_and_the_detail_only_in_the_log(caplog):
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    silent = socket.create_server(("127.0.0.1", 0))  # accepts the connection, never answers
    caplog.set_level(logging.WARNING, logger="adgen.webhooks")
    try:
        refused = deliver(f"http://127.0.0.1:{closed}/hook", PAYLOAD, SECRET, hook_policy("127.0.0.1"))
        hung = deliver(f"http://127.0.0.1:{silent.getsockname()[1]}/hook", PAYLOAD, SECRET,
                       hook_policy("127.0.0.1", timeout_s=1.0))
    finally:
        silent.close()
    assert refused == (False, 1, "network error")
    assert hung == (False, 1, "timed out")
    assert "refused" in caplog.text.lower()  # the operator still learns what happened


def test_webhook_dns_failure_is_a_network_error_and_retried(dns):
    receiver = Site("127.0.0.2")
    try:
        dns.answers["hooks.test"] = [socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")] * 2 + \
            ["127.0.0.2"]
        sleeps = []
        result = deliver(f"http://hooks.test:{receiver.port}/hook", PAYLOAD, SECRET,
                         hook_policy("hooks.test", "127.0.0.2", attempts=6), sleep=sleeps.append)
        assert result == (True, 3, "HTTP 200") and len(sleeps) == 2 and len(receiver.requests) == 1
    finally:
        receiver.close()


# --- the fetcher ------------------------------------------------------------------------------------

def test_fetch_refuses_inward_addresses_unless_allowed():
    site = Site("127.0.0.2", routes={"/can.png": (200, {"Content-Type": "image/png"}, CAN_PNG)})
    try:
        url = f"http://127.0.0.2:{site.port}/can.png"
        with pytest.raises(InwardAddress, match="not allowed") as refused:
            fetch_image(url, field="products.0.product_image_url", policy=FetchPolicy(allow_http=True))
        assert refused.value.field == "products.0.product_image_url" and url in str(refused.value)
        assert "127.0.0.2" not in str(refused.value).replace(url, "")  # the address is for the log only
        assert refused.value.detail == "127.0.0.2 -> 127.0.0.2, a loopback address"
        assert site.requests == []
        fetched = fetch_image(url, field="f", policy=FetchPolicy(allow_http=True, allow=("127.0.0.2/32",)))
        assert fetched.data == CAN_PNG and fetched.image.size == Image.open(io.BytesIO(CAN_PNG)).size
    finally:
        site.close()


def test_fetch_is_https_only_unless_http_is_allowed():
    site = Site("127.0.0.2", routes={"/can.png": (200, {}, CAN_PNG)})
    try:
        with pytest.raises(RefusedByPolicy, match="only https"):
            fetch_image(f"http://127.0.0.2:{site.port}/can.png", field="f", policy=FetchPolicy(allow=("127.0.0.2",)))
        assert site.requests == []
    finally:
        site.close()


def test_fetch_rechecks_every_redirect_hop_and_caps_their_number():
    inside = Site("127.0.0.3", routes={"/secret.png": (200, {}, CAN_PNG)})
    site = Site("127.0.0.2", routes={
        "/away": (302, {"Location": f"http://127.0.0.3:{inside.port}/secret.png"}, b""),
        "/here": (301, {"Location": "/can.png"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/can.png": (200, {}, CAN_PNG)})
    policy = FetchPolicy(allow_http=True, allow=("127.0.0.2",))
    base = f"http://127.0.0.2:{site.port}"
    try:
        with pytest.raises(InwardAddress):
            fetch_image(f"{base}/away", field="f", policy=policy)
        assert inside.requests == []
        assert fetch_image(f"{base}/here", field="f", policy=policy).url == f"{base}/can.png"
        with pytest.raises(RefusedByPolicy, match="more than 5 redirects"):
            fetch_image(f"{base}/loop", field="f", policy=policy)
        with pytest.raises(RefusedByPolicy, match="only http"):
            fetch_image(f"{base}/file", field="f", policy=policy)
    finally:
        site.close()
        inside.close()


def test_fetch_sniffs_the_bytes_not_the_content_type():
    site = Site("127.0.0.2", routes={"/photo": (200, {"Content-Type": "text/html"}, CAN_PNG),
                                     "/page.png": (200, {"Content-Type": "image/png"}, b"<html>hello</html>")})
    policy = FetchPolicy(allow_http=True, allow=("127.0.0.2",))
    try:
        assert fetch_image(f"http://127.0.0.2:{site.port}/photo", field="f", policy=policy).image.format == "PNG"
        with pytest.raises(Exception, match="not a PNG, JPEG or WebP") as caught:
            fetch_image(f"http://127.0.0.2:{site.port}/page.png", field="f", policy=policy)
        assert not isinstance(caught.value, FetchError)  # the content is bad, not the network
    finally:
        site.close()


def test_fetch_decodes_with_the_pixel_cap():
    big = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(big, "PNG")
    site = Site("127.0.0.2", routes={"/big.png": (200, {}, big.getvalue())})
    try:
        with pytest.raises(ImageBomb, match="over 10000 pixels") as caught:
            fetch_image(f"http://127.0.0.2:{site.port}/big.png", field="f",
                        policy=FetchPolicy(allow_http=True, allow=("127.0.0.2",)),
                        limits=Limits(max_image_pixels=10_000))
        assert "/big.png" in str(caught.value)
    finally:
        site.close()


def test_fetch_stops_reading_past_the_byte_cap_without_a_declared_length():
    server = RawServer(lambda server, conn: endless_body(server, conn, headers=b"Connection: close\r\n",
                                                         first=CAN_PNG[:64]))
    try:
        with pytest.raises(TooLarge, match="over 65536 bytes"):
            fetch_image(f"http://127.0.0.1:{server.port}/photo.png", field="f",
                        policy=FetchPolicy(allow_http=True, allow=("127.0.0.1",)),
                        limits=Limits(max_upload_bytes=65536))
    finally:
        server.close()
    assert server.sent < 32 * 1024 * 1024, server.sent


def test_fetch_has_a_wall_clock_deadline_that_a_trickling_body_cannot_stretch():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + CAN_PNG[:64]
    server = RawServer(lambda server, conn: trickle(server, conn, head=head))
    try:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            fetch_image(f"http://127.0.0.1:{server.port}/photo.png", field="f",
                        policy=FetchPolicy(allow_http=True, allow=("127.0.0.1",), deadline_s=1.5))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < 1.5 + 3, elapsed


def make_tls(tmp_path: Path, hostname: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for hostname, client context trusting only its test CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, issuer, key, signer, *, ca: bool, names=()):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                            critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adgen test CA")])
    ca = certificate(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf = certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]), ca_name, leaf_key, ca_key,
                       ca=False, names=(hostname,))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem) + leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "leaf.pem")
    return server, ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))


def test_https_fetch_pins_the_address_and_still_verifies_the_certificate_for_the_name(tmp_path, dns):
    server_tls, client_tls = make_tls(tmp_path, "images.test")
    server_names = []
    server_tls.sni_callback = lambda sock, name, context: server_names.append(name)
    site, internal = two_sites("127.0.0.2", "127.0.0.1", routes={"/can.png": (200, {}, CAN_PNG)}, tls=server_tls)
    try:
        dns.answers["images.test"] = ["127.0.0.2", "127.0.0.1"]
        dns.answers["wrong-name.test"] = ["127.0.0.2"]
        policy = FetchPolicy(allow=("127.0.0.2",), ssl_context=client_tls)
        fetched = fetch_image(f"https://images.test:{site.port}/can.png", field="f", policy=policy)
        assert fetched.data == CAN_PNG and internal.requests == []
        assert server_names == ["images.test"]  # SNI: the name, not the pinned address
        assert site.requests[0][2]["Host"] == f"images.test:{site.port}"
        # The certificate names images.test: the same address under another name does not verify.
        with pytest.raises(FetchError) as caught:
            fetch_image(f"https://wrong-name.test:{site.port}/can.png", field="f", policy=policy)
        assert caught.value.outcome == "network error" and "CERTIFICATE_VERIFY_FAILED" in caught.value.detail
        assert len(site.requests) == 1
    finally:
        site.close()
        internal.close()


# --- batch: catalogue image cells ---------------------------------------------------------------

def catalogue_with(tmp_path: Path, *cells: str) -> Path:
    folder = tmp_path / "feed"
    folder.mkdir(exist_ok=True)
    rows = "".join(f"S-{n},Product {n},{cell}\n" for n, cell in enumerate(cells, start=1))
    (folder / "products.csv").write_text("sku,name,product_image\n" + rows)
    return folder / "products.csv"


def test_batch_fetch_refuses_loopback_unless_allowed(tmp_path, monkeypatch):
    site = Site("127.0.0.1", routes={"/can.png": (200, {}, CAN_PNG)})
    try:
        csv = catalogue_with(tmp_path, f"http://127.0.0.1:{site.port}/can.png")
        monkeypatch.delenv("ADGEN_FETCH_ALLOW", raising=False)
        [row] = read_catalogue(csv, fetch_images=True, image_cache=tmp_path / "cache").rows
        assert row.spec.product_image is None and "loopback" in row.note and "ADGEN_FETCH_ALLOW" in row.note
        assert site.requests == []
        monkeypatch.setenv("ADGEN_FETCH_ALLOW", "10.0.0.0/8, 127.0.0.0/8")
        [row] = read_catalogue(csv, fetch_images=True, image_cache=tmp_path / "cache").rows
        assert row.note == "" and row.spec.product_image.read_bytes() == CAN_PNG
    finally:
        site.close()


def test_batch_fetch_does_not_follow_a_redirect_inward(tmp_path, monkeypatch):
    inside = Site("127.0.0.3", routes={"/secret.png": (200, {}, CAN_PNG)})
    away = f"http://127.0.0.3:{inside.port}/secret.png"
    site = Site("127.0.0.2", routes={"/can.png": (302, {"Location": away}, b"")})
    try:
        monkeypatch.setenv("ADGEN_FETCH_ALLOW", "127.0.0.2")
        csv = catalogue_with(tmp_path, f"http://127.0.0.2:{site.port}/can.png")
        [row] = read_catalogue(csv, fetch_images=True, image_cache=tmp_path / "cache").rows
        assert row.spec.product_image is None and "image unavailable" in row.note and "loopback" in row.note
        assert len(site.requests) == 1 and inside.requests == []
    finally:
        site.close()
        inside.close()


def test_batch_relative_image_paths_stay_in_the_csv_folder(tmp_path):
    csv = catalogue_with(tmp_path, "../secret.png", "photos/can.png", "escape.png", str(tmp_path / "secret.png"))
    shutil.copy(IMAGES / "matcha-can.png", tmp_path / "secret.png")  # beside the CSV's folder, not in it
    (csv.parent / "photos").mkdir()
    shutil.copy(IMAGES / "matcha-can.png", csv.parent / "photos" / "can.png")
    (csv.parent / "escape.png").symlink_to(tmp_path / "secret.png")
    outside, inside, linked, absolute = read_catalogue(csv).rows
    assert outside.spec.product_image is None and "stay in the CSV's folder" in outside.note
    assert inside.note == "" and inside.spec.product_image == (csv.parent / "photos" / "can.png").resolve()
    assert linked.spec.product_image is None and "stay in the CSV's folder" in linked.note
    assert absolute.note == "" and absolute.spec.product_image == tmp_path / "secret.png"  # the user's own choice
