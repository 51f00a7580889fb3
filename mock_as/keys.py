"""The mock's signing key, its JWKS and compact JWS: what signs id_tokens and client-based tokens.

The key comes from the seed (the same seed always gives the same key and ``kid``) or from a PEM
file named by :attr:`MockASConfig.signing_key_pem`. Either way it is derived or parsed once, when the
state is built or reconfigured, and cached per seed; no request ever touches key material.

* ``RS256`` (AM's default for id_tokens) uses a 2048-bit RSA key whose primes are searched for
  deterministically from a hash stream of the seed.
* ``ES256`` uses a P-256 key whose scalar is a hash of the seed.

The ``kid`` is the key's RFC 7638 thumbprint, so it changes exactly when the key does. The JWK also
carries a self-signed certificate of the key (``x5c``) and its SHA-1 thumbprint (``x5t``), as AM's
key sets do; the certificate is built from the key alone with deterministic signatures, so the same
seed always gives the same certificate.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import math
import threading
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import SigningAlg
from .errors import ConfigError, compact_json

# cryptography is imported where a key is first made or used (its import costs a server's
# start-up more than everything else it does before the first token).
if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from .config import MockASConfig
    from .state import State

SUPPORTED_ALGS: tuple[str, ...] = typing.get_args(SigningAlg)
DEFAULT_ALG = "RS256"

_RSA_BITS = 2048
_RSA_E = 65537
# Small odd primes: one gcd against their product discards most composite candidates before any
# modular exponentiation.
_SMALL_PRIMES = [p for p in range(3, 3000, 2) if all(p % q for q in range(3, math.isqrt(p) + 1, 2))]
_PRIMORIAL = math.prod(_SMALL_PRIMES)
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19)
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The inverse of :func:`b64url`; :class:`ValueError` for anything that is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError("not base64url") from e


def _int_bytes(value: int, size: int | None = None) -> bytes:
    return value.to_bytes(size or (value.bit_length() + 7) // 8, "big")


# -- deterministic key derivation ---------------------------------------------------------------


def _hash_stream(label: bytes) -> Iterator[bytes]:
    counter = 0
    while True:
        yield hashlib.shake_256(label + counter.to_bytes(8, "big")).digest(_RSA_BITS // 16)
        counter += 1


def _probable_prime(n: int) -> bool:
    d, s = n - 1, 0
    while not d & 1:
        d >>= 1
        s += 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _next_prime(stream: Iterator[bytes]) -> int:
    bits = _RSA_BITS // 2
    while True:
        # The two top bits set make the product of two such primes exactly 2048 bits long.
        start = int.from_bytes(next(stream), "big") | (3 << (bits - 2)) | 1
        for candidate in range(start, start + 40_000, 2):
            if math.gcd(candidate, _PRIMORIAL) != 1 or (candidate - 1) % _RSA_E == 0:
                continue
            if _probable_prime(candidate):
                return candidate


@lru_cache(maxsize=8)
def seeded_rsa_key(seed: int) -> rsa.RSAPrivateKey:
    """The 2048-bit RSA key of ``seed`` (about a tenth of a second the first time, cached after)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    stream = _hash_stream(f"mock-as:rsa:{seed}".encode())
    p = _next_prime(stream)
    q = _next_prime(stream)
    while q == p:  # pragma: no cover - astronomically unlikely
        q = _next_prime(stream)
    d = pow(_RSA_E, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(_RSA_E, p * q),
    )
    return numbers.private_key()


@lru_cache(maxsize=8)
def seeded_ec_key(seed: int) -> ec.EllipticCurvePrivateKey:
    """The P-256 key of ``seed``."""
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = hashlib.shake_256(f"mock-as:p256:{seed}".encode()).digest(48)
    scalar = int.from_bytes(raw, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


# -- the key in force ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private signing key with its JOSE algorithm, ``kid`` and public JWK."""

    alg: str
    kid: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    jwk: Mapping[str, Any]

    def sign(self, data: bytes) -> bytes:
        """The JWS signature of ``data`` (RFC 7518 §3.3, §3.4)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        key = self.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # RFC 6979 nonces: the same seed and claims give the same token string.
        der = key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return _int_bytes(r, 32) + _int_bytes(s, 32)

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``data``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        public = self.private_key.public_key()
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def encode(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS over ``claims`` with header ``{"typ":"JWT","kid":…,"alg":…}``."""
        header = {"typ": "JWT", "kid": self.kid, "alg": self.alg}
        signing_input = b64url(compact_json(header).encode()) + "." + b64url(compact_json(claims).encode())
        return signing_input + "." + b64url(self.sign(signing_input.encode("ascii")))

    def decode(self, token: str) -> dict[str, Any] | None:
        """The claims of a compact JWS this key signed, or ``None`` (malformed, other key, tampered).
        Validity in time is the caller's business."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(b64url_decode(parts[0]))
            if not isinstance(header, dict) or header.get("alg") != self.alg:
                return None
            signature = b64url_decode(parts[2])
            if not self.verify(f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
                return None
            claims = json.loads(b64url_decode(parts[1]))
        except (ValueError, UnicodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def jwks(self) -> dict[str, list[Mapping[str, Any]]]:
        """The JWK Set AM publishes at ``/oauth2/connect/jwk_uri``."""
        return {"keys": [self.jwk]}


# The certificate's fixed validity: nothing about it may depend on when the mock started.
_CERT_NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
_CERT_NOT_AFTER = datetime.datetime(2120, 1, 1, tzinfo=datetime.UTC)


def self_signed_certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str
) -> x509.Certificate:
    """A self-signed X.509 certificate of ``key`` (subject ``CN=mock-as``), the same bytes for the
    same key: fixed validity, a serial from the ``kid``, PKCS#1 v1.5 or RFC 6979 signatures."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mock-as")])
    serial = int.from_bytes(hashlib.sha256(kid.encode()).digest()[:16], "big") >> 1 or 1
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(_CERT_NOT_BEFORE)
        .not_valid_after(_CERT_NOT_AFTER)
    )
    if isinstance(key, rsa.RSAPrivateKey):
        return builder.sign(key, hashes.SHA256())
    try:
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    except TypeError:  # pragma: no cover - a cryptography without RFC 6979 certificates
        return builder.sign(key, hashes.SHA256())


def _public_jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        required = {"e": b64url(_int_bytes(numbers.e)), "kty": "RSA", "n": b64url(_int_bytes(numbers.n))}
    else:
        point = key.public_key().public_numbers()
        required = {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(_int_bytes(point.x, 32)),
            "y": b64url(_int_bytes(point.y, 32)),
        }
    # RFC 7638: the thumbprint hashes the required members, sorted, without whitespace.
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    kid = b64url(hashlib.sha256(canonical).digest())
    jwk: dict[str, Any] = {"kty": required["kty"], "kid": kid, "use": "sig", "alg": alg}
    jwk.update({k: v for k, v in required.items() if k != "kty"})
    der = self_signed_certificate(key, kid).public_bytes(serialization.Encoding.DER)
    jwk["x5t"] = b64url(hashlib.sha1(der).digest())  # RFC 7517 §4.8: SHA-1 of the DER certificate
    jwk["x5c"] = [base64.b64encode(der).decode("ascii")]  # RFC 7517 §4.7: standard base64, not url
    return jwk


def _make(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> SigningKey:
    jwk = _public_jwk(key, alg)
    return SigningKey(alg=alg, kid=jwk["kid"], private_key=key, jwk=jwk)


@lru_cache(maxsize=8)
def _seeded(seed: int, alg: str) -> SigningKey:
    if alg == "ES256":
        return _make(seeded_ec_key(seed), alg)
    return _make(seeded_rsa_key(seed), alg)


@lru_cache(maxsize=8)
def _from_pem(pem: str, alg: str | None) -> SigningKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    text = pem
    if "-----BEGIN" not in pem:
        try:
            text = Path(pem).read_text("ascii")
        except OSError as e:
            raise ConfigError(f"signing_key_pem: cannot read {pem!r}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"signing_key_pem: {pem!r} is not a PEM file") from None
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ConfigError(f"signing_key_pem: not an unencrypted PEM private key ({e})") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ConfigError("signing_key_pem: an RSA key must have at least 2048 bits")
        key_alg = "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        key_alg = "ES256"
    else:
        raise ConfigError("signing_key_pem: only RSA (RS256) and EC P-256 (ES256) keys are supported")
    if alg is not None and alg != key_alg:
        raise ConfigError(f"signing_alg {alg!r} does not fit the {key_alg} key in signing_key_pem")
    return _make(key, key_alg)


def load_signing_key(config: MockASConfig, seed: int) -> SigningKey:
    """The key ``config`` asks for: its PEM if set, else the seed's key for ``signing_alg``."""
    alg = config.signing_alg  # one of SUPPORTED_ALGS: the model checked it
    if config.signing_key_pem:
        return _from_pem(config.signing_key_pem, alg)
    return _seeded(seed, alg or DEFAULT_ALG)


class SigningKeys:
    """The state's key holder, ``state.keys``. A configured PEM is parsed when the state is built, so a bad one
    fails at start-up; a seed's key is derived on first use (an RSA search takes a fraction of a
    second) and cached per seed. A reset after a new seed or configuration picks the key again."""

    __slots__ = ("_key", "_lock", "_source", "_state")

    def __init__(self, state: State) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._source: tuple[int, str | None, str | None] | None = None
        self._key: SigningKey | None = None
        self.reset()

    def _wanted(self) -> tuple[int, str | None, str | None]:
        config = self._state.config
        return (self._state.seed, config.signing_key_pem, config.signing_alg)

    def reset(self) -> None:
        """Follow the state's seed and configuration."""
        source = self._wanted()
        if source == self._source:
            return
        config = self._state.config
        with self._lock:
            pem = config.signing_key_pem
            self._key = _from_pem(pem, config.signing_alg) if pem else None
            self._source = source

    @property
    def current(self) -> SigningKey:
        """The key in force."""
        key = self._key
        if key is None:
            with self._lock:
                if self._key is None:
                    self._key = load_signing_key(self._state.config, self._state.seed)
                key = self._key
        return key
