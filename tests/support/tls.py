"""A self-signed certificate for ``127.0.0.1``, made at test time with the ``openssl`` command.

The certificate is its own CA: a client trusts it by loading ``cert`` as its only CA
(:meth:`Certificate.client_context` for Python; ``NODE_EXTRA_CA_CERTS`` for Node), so
the TLS handshake is verified for real, host name (an IP subjectAltName) included.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certificate", "self_signed_certificate"]


@dataclass(frozen=True)
class Certificate:
    """PEM files: the certificate (also the CA to trust) and its unencrypted key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate against this one (and its host name)."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_certificate(folder: Path) -> Certificate:
    """A fresh key and certificate for ``127.0.0.1`` (valid one day) in ``folder``."""
    openssl = shutil.which("openssl")
    # Not a skip: .ci/run installs it (Debian package openssl) when it is missing.
    assert openssl is not None, "the openssl command is needed to make a test certificate"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)
