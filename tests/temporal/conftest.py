"""Certificates for the secured-Temporal tests (trustme), written as PEM files settings can name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

SERVER_NAME = "temporal.threshold.test"


@dataclass(frozen=True)
class Pki:
    """A server CA, a client CA, a stranger CA, and the PEM files a client is configured with."""

    server_ca: trustme.CA
    client_ca: trustme.CA
    ca_path: Path
    stranger_ca_path: Path
    cert_path: Path
    key_path: Path
    stranger_cert_path: Path
    stranger_key_path: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Fresh CAs and a client certificate for the session."""
    folder = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, stranger = trustme.CA(), trustme.CA(), trustme.CA()
    client = client_ca.issue_cert("worker@threshold.test")
    impostor = stranger.issue_cert("worker@threshold.test")
    paths = {
        "ca.pem": server_ca.cert_pem,
        "stranger-ca.pem": stranger.cert_pem,
        "client.pem": client.cert_chain_pems[0],
        "client.key": client.private_key_pem,
        "impostor.pem": impostor.cert_chain_pems[0],
        "impostor.key": impostor.private_key_pem,
    }
    for name, blob in paths.items():
        blob.write_to_path(str(folder / name))
    return Pki(
        server_ca=server_ca,
        client_ca=client_ca,
        ca_path=folder / "ca.pem",
        stranger_ca_path=folder / "stranger-ca.pem",
        cert_path=folder / "client.pem",
        key_path=folder / "client.key",
        stranger_cert_path=folder / "impostor.pem",
        stranger_key_path=folder / "impostor.key",
    )
