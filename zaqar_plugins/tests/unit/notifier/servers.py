"""What the notifier tests add to the harness's receivers
(:mod:`zaqar_testing.receivers`): a Keystone replaying recorded
exchanges, and TLS certificates for 127.0.0.1."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import pathlib
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from zaqar_testing import receivers

RECORDINGS = pathlib.Path(__file__).parent / 'keystone'

#: The Keystone address in the recordings, replaced by the loopback one.
RECORDED_KEYSTONE = 'http://keystone.test'


def _contains(actual: Any, pattern: Any) -> bool:
    """Whether ``pattern`` is a sub-document of ``actual`` (objects may
    have more keys; anything else must be equal)."""
    if isinstance(pattern, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value)
            for key, value in pattern.items())
    return actual == pattern


class KeystoneReplay(receivers.HTTPServer):
    """Answers as the recorded Keystone exchanges in ``keystone/*.json``.

    Each recording has a ``request`` (``method``, ``path`` and, optionally,
    a ``body`` pattern the JSON body must contain) and the ``response``
    (``status``, ``headers``, ``body``) Keystone gave. A request gets the
    response of the first recording of ``names`` it matches, else a 404;
    ``http://keystone.test`` in responses becomes this server's URL.
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__(self._answer)
        self.recordings = {name: json.loads(
            (RECORDINGS / f'{name}.json').read_text()) for name in names}

    def response(self, name: str) -> dict[str, Any]:
        """The response of recording ``name`` (as recorded)."""
        return self.recordings[name]['response']

    def unmatched(self) -> list[receivers.Request]:
        return [request for request in self.requests
                if self.recording_of(request) is None]

    def recording_of(self, request: receivers.Request) -> str | None:
        try:
            body = request.json() if request.body else None
        except ValueError:
            body = None
        for name, recording in self.recordings.items():
            expected = recording['request']
            if expected['method'] == request.method and \
                    expected['path'].rstrip('/') == \
                    request.path.rstrip('/') and \
                    _contains(body, expected.get('body', body)):
                return name
        return None

    def _answer(self, request: receivers.Request) -> receivers.Answer:
        name = self.recording_of(request)
        if name is None:
            return receivers.Answer(404, {'Content-Type': 'application/json'},
                          b'{"error": {"code": 404, "title": "Not Found"}}')
        response = self.recordings[name]['response']
        body = json.dumps(response['body']).replace(RECORDED_KEYSTONE,
                                                    self.url)
        return receivers.Answer(response['status'],
                                dict(response['headers']), body.encode())


@dataclasses.dataclass
class TLSFiles:
    ca: pathlib.Path  # what clients trust
    cert: pathlib.Path  # the server's, for 127.0.0.1, signed by ca
    key: pathlib.Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_files(directory: pathlib.Path) -> TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 it signed."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {'not_valid_before': now - datetime.timedelta(hours=1),
             'not_valid_after': now + datetime.timedelta(days=1)}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder(**valid)
               .subject_name(_name('notifier test CA'))
               .issuer_name(_name('notifier test CA'))
               .public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                              critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True,
                   crl_sign=True, content_commitment=False,
                   key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False,
                   decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                   ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder(**valid)
            .subject_name(_name('127.0.0.1'))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TLSFiles(directory / 'ca.pem', directory / 'server.pem',
                     directory / 'server.key')
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return files
