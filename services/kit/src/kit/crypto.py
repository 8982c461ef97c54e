"""Field-level encryption at rest, with envelope keys and rotation by re-wrapping.

Each stored value gets a data key of its own (random, 256 bits), which encrypts it with
AES-GCM; the data key is stored beside it wrapped (AES-GCM again) by the app's key
encryption key from settings (``<APP>_ENCRYPTION_KEYS``, ``<APP>_ENCRYPTION_KEY_ID``). A value
in the database reads::

    enc1:<key id>:<base64url(nonce + wrapped data key)>:<base64url(nonce + ciphertext)>

so the raw database shows nothing of the text, and a copy of the database without the key
is useless. The ciphertext is bound to its column (the column's name is the associated
data): a value copied into another column does not decrypt.

**Rotation without downtime.** Every key of the key ring decrypts; the active one encrypts.
Add the new key beside the old one, make it active, then ``python -m <app> rotate-keys``
re-wraps every data key under it in batches (the ciphertext itself is not touched); a
value written before encryption was turned on (plain text) is encrypted by the same pass.
Then the old key can go.

:class:`EncryptedText` and :class:`EncryptedJSON` are column types: the model reads and
writes plain values, the database holds envelopes. Each app installs its key ring at
start-up (:func:`install`), under its own name, so several apps in one process (the test
stack) keep their keys apart.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, MetaData, Table, Text, literal, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from kit.db import Database

PREFIX = "enc1"
KEY_BYTES = 32
NONCE_BYTES = 12
ROTATE_BATCH = 500
# Development and tests only; refused in production (kit.settings).
DEV_ENCRYPTION_KEY_ID = "dev"
DEV_ENCRYPTION_KEY = base64.b64encode(b"dev-only-field-key-not-a-secret!").decode()


class EncryptionError(RuntimeError):
    """A stored value that cannot be decrypted: its key is not in the key ring, or the value
    was changed in the database."""


def decode_key(value: str) -> bytes:
    """A key from settings: 32 bytes, base64 (standard or URL-safe alphabet)."""
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("an encryption key must be base64 (32 random bytes)") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(
            f"an encryption key must be {KEY_BYTES} bytes, base64-encoded "
            '(python -c "import os,base64; print(base64.b64encode(os.urandom(32)).decode())")'
        )
    return raw


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Envelope:
    key_id: str
    wrapped: bytes  # nonce + the data key encrypted by the key encryption key
    sealed: bytes  # nonce + the value encrypted by the data key

    def render(self) -> str:
        return f"{PREFIX}:{self.key_id}:{_b64(self.wrapped)}:{_b64(self.sealed)}"

    @classmethod
    def parse(cls, stored: str) -> Envelope | None:
        """The envelope, or ``None`` for a value stored before encryption was turned on."""
        if not stored.startswith(PREFIX + ":"):
            return None
        try:
            _, key_id, wrapped, sealed = stored.split(":", 3)
            return cls(key_id, _unb64(wrapped), _unb64(sealed))
        except (ValueError, binascii.Error) as exc:
            raise EncryptionError("a stored value is not a well-formed envelope") from exc


class Keyring:
    """The key encryption keys by id; ``active`` encrypts, all of them decrypt."""

    def __init__(self, keys: Mapping[str, bytes], *, active: str) -> None:
        if active not in keys:
            raise ValueError(f"the active encryption key {active!r} is not in the key ring")
        for key_id in keys:
            if not key_id or ":" in key_id:
                raise ValueError(f"an encryption key id must be non-empty without ':' ({key_id!r})")
        self.active = active
        self._keks = {key_id: AESGCM(key) for key_id, key in keys.items()}

    @classmethod
    def from_settings(cls, keys: Mapping[str, str], active: str | None) -> Keyring:
        decoded = {key_id: decode_key(value) for key_id, value in keys.items()}
        if not decoded:
            raise ValueError("the key ring is empty")
        return cls(decoded, active=active or next(reversed(decoded)))

    def encrypt(self, plain: str, *, context: str) -> str:
        # One call for the data key and both nonces: the randomness is a third of the cost.
        fresh = os.urandom(KEY_BYTES + 2 * NONCE_BYTES)
        data_key, nonce = fresh[:KEY_BYTES], fresh[KEY_BYTES : KEY_BYTES + NONCE_BYTES]
        wrap_nonce = fresh[KEY_BYTES + NONCE_BYTES :]
        sealed = nonce + AESGCM(data_key).encrypt(nonce, plain.encode(), context.encode())
        wrapped = wrap_nonce + self._keks[self.active].encrypt(
            wrap_nonce, data_key, self.active.encode()
        )
        return Envelope(self.active, wrapped, sealed).render()

    def decrypt(self, stored: str, *, context: str) -> str:
        envelope = Envelope.parse(stored)
        if envelope is None:
            return stored
        data_key = self._unwrap(envelope)
        try:
            plain = AESGCM(data_key).decrypt(
                envelope.sealed[:NONCE_BYTES], envelope.sealed[NONCE_BYTES:], context.encode()
            )
        except InvalidTag as exc:
            raise EncryptionError(f"a value of {context} does not decrypt (changed?)") from exc
        return plain.decode()

    def rewrap(self, stored: str, *, context: str) -> str | None:
        """``stored`` with its data key wrapped by the active key (plain text: encrypted);
        ``None`` when it already is."""
        envelope = Envelope.parse(stored)
        if envelope is None:
            return self.encrypt(stored, context=context)
        if envelope.key_id == self.active:
            return None
        data_key = self._unwrap(envelope)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = wrap_nonce + self._keks[self.active].encrypt(
            wrap_nonce, data_key, self.active.encode()
        )
        return Envelope(self.active, wrapped, envelope.sealed).render()

    def _unwrap(self, envelope: Envelope) -> bytes:
        kek = self._keks.get(envelope.key_id)
        if kek is None:
            raise EncryptionError(
                f"a value is encrypted with key {envelope.key_id!r}, which is not in the key "
                "ring: add it back to the ENCRYPTION_KEYS setting"
            )
        try:
            return kek.decrypt(
                envelope.wrapped[:NONCE_BYTES],
                envelope.wrapped[NONCE_BYTES:],
                envelope.key_id.encode(),
            )
        except InvalidTag as exc:
            raise EncryptionError(f"a data key does not unwrap with {envelope.key_id!r}") from exc


_KEYRINGS: dict[str, Keyring] = {}


def install(app: str, keyring: Keyring) -> None:
    """Make ``keyring`` the one ``app``'s encrypted columns use (at start-up)."""
    _KEYRINGS[app] = keyring


def keyring_of(app: str) -> Keyring:
    keyring = _KEYRINGS.get(app)
    if keyring is None:
        raise EncryptionError(f"no encryption key ring installed for {app}")
    return keyring


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted (see the module docstring)."""

    impl = Text
    cache_ok = True

    def __init__(self, app: str, context: str) -> None:
        super().__init__()
        self.app = app
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(self.app).encrypt(value, context=self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(self.app).decrypt(value, context=self.context)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored encrypted as text."""

    impl = Text
    cache_ok = True

    def __init__(self, app: str, context: str) -> None:
        super().__init__()
        self.app = app
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return keyring_of(self.app).encrypt(text, context=self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(keyring_of(self.app).decrypt(value, context=self.context))


Encrypted = EncryptedText | EncryptedJSON


def encrypted_columns(metadata: MetaData) -> Iterator[tuple[Table, Column[Any], Encrypted]]:
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText | EncryptedJSON):
                yield table, column, column.type


@dataclass(frozen=True, slots=True)
class Rotation:
    rewrapped: int
    checked: int


async def rotate(database: Database, metadata: MetaData, *, batch: int = ROTATE_BATCH) -> Rotation:
    """Re-wrap every encrypted value of ``metadata``'s tables under the active key, one
    batch per transaction (so the app keeps serving), keyed on each table's primary key.
    Values written before encryption was turned on are encrypted."""
    rewrapped = checked = 0
    for table, column, kind in encrypted_columns(metadata):
        (key,) = table.primary_key.columns
        keyring = keyring_of(kind.app)
        last: Any = None
        while True:
            async with database.transaction() as session:
                # Cast to plain text: the stored envelope, not the decrypted value.
                statement = (
                    select(key, column.cast(Text).label("stored"))
                    .where(column.is_not(None))
                    .order_by(key)
                    .limit(batch)
                )
                if last is not None:
                    statement = statement.where(key > last)
                rows = (await session.execute(statement)).all()
                for row in rows:
                    checked += 1
                    new = keyring.rewrap(row.stored, context=kind.context)
                    if new is not None:
                        # A plain-text bind: the envelope is stored as it is.
                        await session.execute(
                            update(table)
                            .where(key == row[0])
                            .values({column.name: literal(new, type_=Text)})
                        )
                        rewrapped += 1
            if len(rows) < batch:
                break
            last = rows[-1][0]
    return Rotation(rewrapped=rewrapped, checked=checked)
