"""``formcheck serve``: the form checker in a browser, on a laptop or a phone.

This module only registers the subcommand; FastAPI, uvicorn and the analysis are imported when
the server starts, so ``formcheck --help`` works without the ``web`` extra.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from formcheck.errors import FormcheckError

log = logging.getLogger(__name__)

DESCRIPTION = """\
Serve formcheck to browsers: check a set by uploading (or recording) a clip, live feedback from
the browser's camera, an athlete's history, and the results store. Uploads and live sets are
scored into DATA/formcheck.sqlite, the same store `formcheck batch` and `formcheck history` use.

Safe by default: it listens on 127.0.0.1 (this computer only). With --host 0.0.0.0 it is open
to the network and every request needs the access token in the printed address.
Phones need HTTPS for live camera access: add --https (a self-signed certificate is made).
"""

EPILOG = """\
examples:
  formcheck serve                               http://127.0.0.1:8000, this computer only
  formcheck serve --host 0.0.0.0 --https        phones on the same Wi-Fi (open the printed URL)
  formcheck serve --data ~/training --workers 2
  formcheck history --db formcheck-data/formcheck.sqlite    the same sets, in the terminal
"""


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="web app: upload or record a set, live camera, history",
                       description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 = every network, token required)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--data", default="formcheck-data", metavar="DIR",
                   help="folder for uploads, annotated videos, jobs and the results store "
                        "(default ./formcheck-data)")
    p.add_argument("--db", metavar="FILE", default=None,
                   help="results store (default DIR/formcheck.sqlite); point it at the file "
                        "`formcheck batch` writes to share one store")
    p.add_argument("--https", action="store_true",
                   help="serve over HTTPS with a self-signed certificate (kept in DIR/tls/): "
                        "phones only give the camera to HTTPS pages")
    p.add_argument("--max-upload-mb", type=float, default=500.0, metavar="N",
                   help="largest upload accepted, in MB (default 500)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="uploads analysed at once, one pose model each (default 1)")
    p.add_argument("--max-live", type=int, default=None, metavar="N",
                   help=f"concurrent live sessions (default: CPU cores, {os.cpu_count()})")
    p.add_argument("--token", default=os.environ.get("FORMCHECK_TOKEN"),
                   help="access token to require (default: a random one when --host is not "
                        "loopback; env FORMCHECK_TOKEN)")
    p.add_argument("--profile", choices=("auto", "seated", "prone"), default=None,
                   help="machine profile (default auto)")
    p.add_argument("--config", metavar="FILE", help="TOML file overriding the analysis defaults")
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (best effort, no network traffic)."""
    found: set[str] = set()
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET: no packet is sent for UDP connect
            found.add(s.getsockname()[0])
        finally:
            s.close()
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)


def port_in_use(host: str, port: int) -> bool:
    """Whether another program listens on ``host:port`` (bound as uvicorn binds: SO_REUSEADDR,
    so a port in TIME_WAIT counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share the port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            return e.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
    return False


def make_certificate(folder: Path, hosts: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate for ``hosts`` (IPs and names) in ``folder``; reused while it
    covers the same hosts. Uses the ``cryptography`` package when installed, else ``openssl``."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key, stamp = folder / "cert.pem", folder / "key.pem", folder / "hosts.txt"
    want = ",".join(sorted(set(hosts)))
    if cert.exists() and key.exists() and stamp.exists() and stamp.read_text() == want:
        return cert, key
    sans = []
    for h in sorted(set(hosts)):
        try:
            ipaddress.ip_address(h)
            sans.append(f"IP:{h}")
        except ValueError:
            sans.append(f"DNS:{h}")
    try:
        _cert_cryptography(cert, key, hosts)
    except ImportError:
        exe = shutil.which("openssl")
        if exe is None:
            raise FormcheckError(
                "--https needs the `cryptography` package or the `openssl` program to make a "
                "certificate: `pip install cryptography` (or install openssl), then retry."
            ) from None
        with _private_file(key):  # openssl writes into it, keeping its 0600
            pass
        cmd = [exe, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "825",
               "-keyout", str(key), "-out", str(cert), "-subj", "/CN=formcheck local server",
               "-addext", "subjectAltName=" + ",".join(sans),
               "-addext", "extendedKeyUsage=serverAuth"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise FormcheckError(
                f"openssl could not make a certificate: {r.stderr.strip()[-300:]}") from None
    os.chmod(key, 0o600)
    stamp.write_text(want)
    return cert, key


def _private_file(path: Path):
    """``path`` opened for writing, created afresh readable by its owner only (0600 from the
    first byte: a key is never readable by others, even briefly)."""
    path.unlink(missing_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _cert_cryptography(cert: Path, key: Path, hosts: list[str]) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "formcheck local server")])
    alt = []
    for h in sorted(set(hosts)):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    now = dt.datetime.now(dt.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
         .not_valid_after(now + dt.timedelta(days=825))
         .add_extension(x509.SubjectAlternativeName(alt), critical=False)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .sign(k, hashes.SHA256()))
    with _private_file(key) as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))


def cert_fingerprint(cert: Path) -> str:
    import hashlib
    import ssl

    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def run(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as e:
        raise FormcheckError(
            f"`formcheck serve` needs the web extra ({e.name} is missing): "
            "pip install 'formcheck[web]'"
        ) from None
    from formcheck.web.engine import load_serve_config
    from formcheck.web.jobs import DataLock

    if not 0 < args.port < 65536:
        raise FormcheckError(f"--port: expected 1-65535, got {args.port}")
    if not args.max_upload_mb > 0:
        raise FormcheckError(f"--max-upload-mb: expected > 0, got {args.max_upload_mb}")
    if args.workers < 1:
        raise FormcheckError(f"--workers: expected >= 1, got {args.workers}")
    cfg = load_serve_config(args.config, args.profile)
    data = Path(args.data).resolve()
    lock = DataLock(data)  # before anything reads or changes the folder's jobs and files
    if not lock.acquire():
        raise FormcheckError(f"another formcheck serve is using {data}; stop it or choose "
                             "another --data")
    try:
        return _serve(args, cfg, data, uvicorn)
    finally:
        lock.release()


def _serve(args: argparse.Namespace, cfg, data: Path, uvicorn) -> int:
    from formcheck.web.app import MB, Settings, create_app
    from formcheck.web.jobs import Paths

    if port_in_use(args.host, args.port):
        raise FormcheckError(f"port {args.port} is in use; choose another with --port")
    paths = Paths.under(data, args.db)
    open_to_network = not is_loopback(args.host)
    token = args.token or (secrets.token_urlsafe(24) if open_to_network else None)
    ssl_kw = {}
    scheme = "https" if args.https else "http"
    shown = ["127.0.0.1"] if not open_to_network else (
        lan_addresses() if args.host in ("0.0.0.0", "::") else [args.host])
    if args.https:
        cert, key = make_certificate(paths.data / "tls", ["localhost", "127.0.0.1", *shown])
        ssl_kw = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    settings = Settings(paths=paths, cfg=cfg, token=token,
                        max_upload_bytes=int(args.max_upload_mb * MB), workers=args.workers,
                        max_live=args.max_live or os.cpu_count() or 1, https=args.https,
                        allowed_hosts=None if open_to_network or token or ":" in args.host
                        else ("127.0.0.1", "localhost"))
    app = create_app(settings)
    q = f"/?token={token}" if token else "/"
    print(f"formcheck serve: results store {paths.db}", file=sys.stderr)
    for h in shown or ["<this computer's address>"]:
        print(f"  open  {scheme}://{h}:{args.port}{q}", file=sys.stderr)
    if open_to_network:
        print("  (open to the network: only people with this address, token included, get in)",
              file=sys.stderr)
    if args.https:
        print(f"  self-signed certificate, SHA-256 {cert_fingerprint(cert)}\n"
              "  your browser warns once: check the fingerprint, then accept it", file=sys.stderr)
    elif open_to_network:
        print("  phones only give the camera to HTTPS pages: add --https for the Live page",
              file=sys.stderr)
    print("  Ctrl-C stops; an upload being analysed is finished at the next start", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                ws_max_size=8 * 1024 * 1024, **ssl_kw)
    return 0
