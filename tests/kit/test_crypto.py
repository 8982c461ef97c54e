"""kit.crypto: envelopes that hide the text, bind it to its column, survive a rotation by
re-wrapping, and a key ring that refuses what would lose data."""

from __future__ import annotations

import base64
import os

import pytest

from kit.crypto import DEV_ENCRYPTION_KEY, EncryptionError, Envelope, Keyring, decode_key
from kit.settings import EncryptionSettings, Environment

NOTE = "Talked about the customer screenshot he posted on X."


def key() -> bytes:
    return os.urandom(32)


class TestEnvelope:
    def test_the_stored_value_shows_nothing_of_the_text(self) -> None:
        ring = Keyring({"k1": key()}, active="k1")

        stored = ring.encrypt(NOTE, context="notes")

        assert stored.startswith("enc1:k1:")
        assert "screenshot" not in stored
        assert ring.decrypt(stored, context="notes") == NOTE

    def test_each_value_has_its_own_data_key(self) -> None:
        ring = Keyring({"k1": key()}, active="k1")

        first = Envelope.parse(ring.encrypt(NOTE, context="notes"))
        second = Envelope.parse(ring.encrypt(NOTE, context="notes"))

        assert first is not None
        assert second is not None
        assert first.wrapped != second.wrapped
        assert first.sealed != second.sealed

    def test_a_value_moved_to_another_column_does_not_decrypt(self) -> None:
        ring = Keyring({"k1": key()}, active="k1")
        stored = ring.encrypt(NOTE, context="notes")

        with pytest.raises(EncryptionError):
            ring.decrypt(stored, context="descriptions")

    def test_a_changed_value_does_not_decrypt(self) -> None:
        ring = Keyring({"k1": key()}, active="k1")
        stored = ring.encrypt(NOTE, context="notes")
        tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]

        with pytest.raises(EncryptionError):
            ring.decrypt(tampered, context="notes")

    def test_plain_text_from_before_encryption_reads_as_it_is(self) -> None:
        ring = Keyring({"k1": key()}, active="k1")

        assert ring.decrypt("an old note", context="notes") == "an old note"


class TestRotation:
    def test_a_rewrapped_value_keeps_its_ciphertext_and_reads_with_the_new_key_only(
        self,
    ) -> None:
        old, new = key(), key()
        stored = Keyring({"k1": old}, active="k1").encrypt(NOTE, context="notes")
        rotating = Keyring({"k1": old, "k2": new}, active="k2")

        rewrapped = rotating.rewrap(stored, context="notes")

        assert rewrapped is not None
        assert rewrapped.startswith("enc1:k2:")
        before, after = Envelope.parse(stored), Envelope.parse(rewrapped)
        assert before is not None
        assert after is not None
        assert after.sealed == before.sealed
        assert Keyring({"k2": new}, active="k2").decrypt(rewrapped, context="notes") == NOTE
        assert rotating.rewrap(rewrapped, context="notes") is None

    def test_a_value_under_a_key_no_longer_in_the_ring_says_which_key(self) -> None:
        stored = Keyring({"k1": key()}, active="k1").encrypt(NOTE, context="notes")

        with pytest.raises(EncryptionError, match="'k1'"):
            Keyring({"k2": key()}, active="k2").decrypt(stored, context="notes")


class TestSettings:
    def test_production_without_a_key_stops_with_a_clear_message(self) -> None:
        with pytest.raises(ValueError, match="X_ENCRYPTION_KEYS must hold the key"):
            _Settings(environment=Environment.PRODUCTION, internal_token_secret="s" * 40)

    def test_production_refuses_the_development_key(self) -> None:
        with pytest.raises(ValueError, match="development key is refused"):
            _Settings(
                environment=Environment.PRODUCTION,
                internal_token_secret="s" * 40,
                encryption_keys={"dev": DEV_ENCRYPTION_KEY},
            )

    def test_production_with_a_real_key_starts(self) -> None:
        real = base64.b64encode(key()).decode()

        settings = _Settings(
            environment=Environment.PRODUCTION,
            internal_token_secret="s" * 40,
            encryption_keys={"2026-12": real},
        )

        assert settings.keyring().active == "2026-12"

    def test_a_key_of_the_wrong_length_is_refused(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            decode_key(base64.b64encode(b"short").decode())

    def test_an_active_key_not_in_the_ring_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not in the key ring"):
            _Settings(encryption_key_id="nope")


class _Settings(EncryptionSettings):
    model_config = {"env_prefix": "X_"}
    database_url: str = "sqlite+aiosqlite:///:memory:"
    port: int = 1
