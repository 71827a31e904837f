"""Key file: create, unlock, wrong passphrase, passphrase change, sealing; `assistant init`."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from assistant import errors as app_errors
from assistant.cli.init_cmd import init
from assistant.config import load_settings
from encrypted_store import keys
from encrypted_store.errors import AuthError, KeyfileError, NotInitialized, TamperError
from tests.helpers import FAST_KDF


def test_create_unlock_roundtrip_and_mode() -> None:
    settings = load_settings()
    ring = keys.create_keys(settings.keyfile, "pw one", kdf=FAST_KDF)
    assert stat.S_IMODE(settings.keyfile.stat().st_mode) == 0o600
    again = keys.unlock(settings.keyfile, "pw one")
    assert again.master_key == ring.master_key
    assert again.ckks_secret == ring.ckks_secret and len(ring.ckks_secret) > 1000
    doc = settings.keyfile.read_text()
    assert ring.master_key.hex() not in doc
    assert ring.ckks_secret[:64].hex() not in json.dumps(doc)


def test_wrong_passphrase_and_not_initialized() -> None:
    settings = load_settings()
    asked = []
    with pytest.raises(NotInitialized, match="not initialized") as exc:
        keys.unlock(settings.keyfile, lambda: asked.append(1) or "x")
    assert asked == []  # a missing key file fails before the passphrase is asked for
    assert "assistant" not in exc.value.hint  # the library knows nothing of the app's commands
    app = app_errors.translate(exc.value)
    assert isinstance(app, app_errors.ConfigError) and "assistant init" in app.next_step
    keys.create_keys(settings.keyfile, "right", kdf=FAST_KDF)
    with pytest.raises(AuthError, match="Wrong passphrase") as bad:
        keys.unlock(settings.keyfile, "wrong")
    assert bad.value.hint
    assert "ASSISTANT_PASSPHRASE" in app_errors.translate(bad.value).next_step  # type: ignore[union-attr]
    with pytest.raises(KeyfileError, match="Already initialized"):
        keys.create_keys(settings.keyfile, "right", kdf=FAST_KDF)


def test_change_passphrase_keeps_keys() -> None:
    settings = load_settings()
    ring = keys.create_keys(settings.keyfile, "old", kdf=FAST_KDF)
    blob = ring.seal(b"secret record", b"aad")
    keys.change_passphrase(settings.keyfile, "old", "new")
    with pytest.raises(AuthError):
        keys.unlock(settings.keyfile, "old")
    assert keys.unlock(settings.keyfile, "new").open(blob, b"aad") == b"secret record"
    with pytest.raises(AuthError):
        keys.change_passphrase(settings.keyfile, "old", "newer")


def test_seal_detects_tampering_and_moves() -> None:
    ring = keys.Keyring(master_key=os.urandom(32), ckks_secret=b"")
    blob = ring.seal(b"payload", b"record|1")
    assert ring.seal(b"payload", b"record|1") != blob  # fresh nonce each time
    assert ring.open(blob, b"record|1") == b"payload"
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    for bad_blob, aad in ((flipped, b"record|1"), (blob, b"record|2"), (blob[:20], b"record|1")):
        with pytest.raises(TamperError):
            ring.open(bad_blob, aad)
    assert ring.subkey("a") != ring.subkey("b") and len(ring.subkey("a")) == 32


def test_corrupt_keyfile_is_a_keyfile_error() -> None:
    settings = load_settings()
    settings.home.mkdir(parents=True)
    settings.keyfile.write_text("{not json")
    with pytest.raises(KeyfileError, match="corrupt"):
        keys.unlock(settings.keyfile, "x")


def test_init_command_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys, "DEFAULT_KDF", FAST_KDF)
    monkeypatch.setenv("ASSISTANT_PASSPHRASE", "pw")
    runner = CliRunner()
    first = runner.invoke(init, ["--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["status"] == "initialized"
    second = runner.invoke(init, ["--json"])
    assert json.loads(second.stdout)["status"] == "already-initialized"
    monkeypatch.setenv("ASSISTANT_NEW_PASSPHRASE", "pw2")
    changed = runner.invoke(init, ["--change-passphrase", "--json"])
    assert json.loads(changed.stdout)["status"] == "passphrase-changed"
    keys.unlock(load_settings().keyfile, "pw2")


def test_open_keyring_without_terminal_says_what_to_set() -> None:
    from assistant.cli.session import open_keyring

    settings = load_settings()
    keys.create_keys(settings.keyfile, "pw", kdf=FAST_KDF)
    with pytest.raises(app_errors.AuthError, match="no terminal") as exc:
        open_keyring(settings)
    assert "ASSISTANT_PASSPHRASE" in exc.value.next_step
