"""Stores' provider secrets, encrypted at rest with Fernet (key: ``DUKA_ENCRYPTION_KEY``).

Make a key with ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key()
.decode())"``. Without a key no secret can be saved (a clear error), so a deployment never
stores them in the clear by mistake.
"""
from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken

from commerce.errors import DomainError


class EncryptionKeyMissing(DomainError):
    code = "encryption_key_missing"


class SecretBox:
    def __init__(self, key: str | None):
        self._fernet = Fernet(key.encode()) if key else None

    def _require(self) -> Fernet:
        if self._fernet is None:
            raise EncryptionKeyMissing("Set DUKA_ENCRYPTION_KEY before saving provider secrets.")
        return self._fernet

    def seal(self, secrets: dict[str, str]) -> str:
        if not secrets:
            return ""
        return self._require().encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        if not sealed:
            return {}
        try:
            return json.loads(self._require().decrypt(sealed.encode()))
        except InvalidToken as error:
            raise EncryptionKeyMissing("The stored secrets do not open with this "
                                       "DUKA_ENCRYPTION_KEY (was the key changed?).") from error
