"""The secure broker's TLS material: a CA of its own and a broker certificate it signed.

Made once, at the first secure start, under `<run dir>/kafka/tls/`: `ca.pem` (what clients
trust, ORCH_KAFKA_SSL_CA_LOCATION), `broker.pem` (the broker's key and chain, 0600, a PEM
keystore Kafka reads itself). The CA's key is not kept: nothing else is ever signed with it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 825


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "delivery-orchestrator local stack"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def write_private(path: Path, data: bytes) -> None:
    """Create `path` readable by its owner only (never world-readable, even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def ensure(home: Path) -> tuple[Path, Path]:
    """(ca.pem, broker.pem) under `home`, made on first use: 127.0.0.1 and localhost in the SAN."""
    tls = home / "tls"
    ca_pem, broker_pem = tls / "ca.pem", tls / "broker.pem"
    if ca_pem.is_file() and broker_pem.is_file():
        return ca_pem, broker_pem
    tls.mkdir(parents=True, exist_ok=True)
    os.chmod(tls, 0o700)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("local stack CA")).issuer_name(_name("local stack CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(_name("kafka broker")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(until)
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(broker_pem, key_pem + cert.public_bytes(pem) + ca.public_bytes(pem))
    ca_pem.write_bytes(ca.public_bytes(pem))
    return ca_pem, broker_pem
