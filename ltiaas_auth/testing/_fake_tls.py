"""A throwaway certificate authority for ``FakeLtiaas(tls=True)`` (trustme, from the ``fake-tls`` extra).

The CA lives as long as its fake: its PEM file (``fake.ca_file``) is removed when the CA is collected or the
process ends. Nothing here is a real trust anchor: every fake makes its own.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ThrowawayCA"]


class ThrowawayCA:
    """A CA and one server certificate for `hosts` (IP addresses or DNS names)."""

    def __init__(self, hosts: Sequence[str]) -> None:
        try:
            import trustme
        except ImportError:
            raise RuntimeError(
                "FakeLtiaas(tls=True) needs trustme: pip install 'ltiaas-auth[fake-tls]'"
            ) from None
        self._ca = trustme.CA(organization_name="FakeLtiaas throwaway CA")
        self._certificate = self._ca.issue_cert(*dict.fromkeys(hosts))
        directory = tempfile.mkdtemp(prefix="fake-ltiaas-ca-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
        self.ca_file = str(Path(directory) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_file)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.set_alpn_protocols(["http/1.1"])
        self._certificate.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context (certificate and host name checked) that trusts this CA only."""
        return ssl.create_default_context(cafile=self.ca_file)

    def close(self) -> None:
        """Remove the CA's file now."""
        self._cleanup()
