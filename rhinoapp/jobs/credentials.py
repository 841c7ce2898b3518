"""TLS credentials of the job scheduler: one private certificate authority per data directory.

The dask scheduler, its workers (local processes or Slurm jobs) and the app's client talk over
mutual TLS: each side shows a certificate signed by the data directory's own authority, and refuses
a peer that does not. A process without these files cannot connect, so it cannot submit work or run
code on the workers. The files are made once, on the first start of a cluster, under
``<data_dir>/scheduler-tls/`` (folder 0700, files 0600: readable only by the app's user, which is
also the user of its Slurm jobs; the data directory is on the file system the Slurm nodes share)::

    ca.pem      the authority's certificate (its private key is never written to disk)
    cert.pem    the one certificate of the scheduler, the workers and the app's client
    key.pem     that certificate's private key

The set is written to a temporary folder and renamed into place, so two processes starting at once
end with one complete set. Delete the folder (with the app stopped) to issue new credentials.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from rhinoapp.core.errors import ConfigurationError

__all__ = ["FOLDER", "SchedulerCredentials", "ensure_credentials", "make_credentials_pem", "security_for"]

_log = logging.getLogger(__name__)
#: The folder of the credentials inside the data directory.
FOLDER = "scheduler-tls"
_VALID_DAYS = 3650
_PRIVATE = stat.S_IRWXG | stat.S_IRWXO


@dataclasses.dataclass(frozen=True)
class SchedulerCredentials:
    """Paths of the authority's certificate, and of the certificate and key every party uses.

    Examples
    --------
    >>> SchedulerCredentials.of(Path("/data")).key_file.as_posix()
    '/data/scheduler-tls/key.pem'
    """

    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def of(cls, data_dir: Path) -> SchedulerCredentials:
        """Where the credentials of ``data_dir`` live (whether or not they exist yet)."""
        folder = Path(data_dir) / FOLDER
        return cls(ca_file=folder / "ca.pem", cert_file=folder / "cert.pem", key_file=folder / "key.pem")

    @property
    def files(self) -> tuple[Path, Path, Path]:
        """The three files."""
        return self.ca_file, self.cert_file, self.key_file


def make_credentials_pem(*, common_name: str = "rhinoapp", valid_days: int = _VALID_DAYS) -> tuple[bytes, bytes, bytes]:
    """A new authority and one certificate it signs for both TLS roles: ``(ca, cert, key)`` as PEM.

    Pure apart from the random keys. The certificate serves as server and as client (dask's
    scheduler, workers and clients all connect to each other); dask does not check host names, so
    one certificate fits workers on any host.

    Examples
    --------
    >>> ca, cert, key = make_credentials_pem(valid_days=1)
    >>> ca.startswith(b"-----BEGIN CERTIFICATE-----"), key.startswith(b"-----BEGIN PRIVATE KEY-----")
    (True, True)
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=valid_days)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} scheduler authority")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


def ensure_credentials(data_dir: Path) -> SchedulerCredentials:
    """The credentials of ``data_dir``, made on the first call; refuses files others can read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     first = ensure_credentials(Path(folder))
    ...     key = first.key_file.read_bytes()
    ...     again = ensure_credentials(Path(folder))
    ...     oct(first.key_file.stat().st_mode & 0o777), again == first and again.key_file.read_bytes() == key
    ('0o600', True)
    """
    credentials = SchedulerCredentials.of(data_dir)
    folder = credentials.key_file.parent
    if not folder.exists():
        _create(folder)
    _check(credentials)
    return credentials


def security_for(credentials: SchedulerCredentials) -> Any:
    """A ``distributed.Security`` that requires TLS with ``credentials`` for every role.

    Examples
    --------
    >>> security = security_for(SchedulerCredentials.of(Path("/data")))
    >>> security.require_encryption, security.tls_ca_file
    (True, '/data/scheduler-tls/ca.pem')
    """
    from distributed.security import Security

    ca, cert, key = (str(path) for path in credentials.files)
    return Security(require_encryption=True, tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                    tls_scheduler_cert=cert, tls_scheduler_key=key, tls_worker_cert=cert, tls_worker_key=key)


def _create(folder: Path) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))  # mode 0700
    except OSError as error:
        raise ConfigurationError(
            f"Cannot create the scheduler's TLS credentials in {folder.parent} ({error.strerror}): make the data "
            "directory writable by the app's user (RHINOAPP_DATA_DIR).") from None
    try:
        for name, content in zip(("ca.pem", "cert.pem", "key.pem"), make_credentials_pem()):
            descriptor = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        try:
            os.rename(staging, folder)
            _log.info("created the job scheduler's TLS credentials in %s", folder)
        except OSError:
            if not folder.is_dir():  # not another process's set: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check(credentials: SchedulerCredentials) -> None:
    folder = credentials.key_file.parent
    missing = [path.name for path in credentials.files if not path.is_file()]
    if missing:
        raise ConfigurationError(
            f"The scheduler's TLS credentials in {folder} are incomplete (missing {', '.join(missing)}): stop the "
            "app, delete that folder and start again to issue new ones.")
    loose = [path.name for path in (folder, credentials.key_file) if path.stat().st_mode & _PRIVATE]
    if loose:
        raise ConfigurationError(
            f"The scheduler's TLS credentials in {folder} can be read by other users ({', '.join(loose)}): run "
            f"'chmod 700 {folder} && chmod 600 {credentials.key_file}', or delete the folder to issue new ones.")
