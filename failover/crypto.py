"""Secrets at rest: OMAPI keys, SSH private keys — encrypted with Fernet (``cryptography``).

The key comes from the environment: ``DHCPADMIN_ENCRYPTION_KEY``, one or more Fernet keys
separated by commas (the first encrypts, all of them decrypt, so a key can be rotated by
putting the new one first). Make one with
``python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'``.
Without it the key is derived from ``SECRET_KEY`` (HKDF-SHA256), which is only right for
development and the demo: changing ``SECRET_KEY`` then makes stored secrets unreadable.

``EncryptedTextField`` stores the token in the database and gives the plain text to Python.
A value that cannot be decrypted (a changed key) reads as ``UNREADABLE``, never an exception
on a page: the user is told to enter the secret again.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

#: What an undecryptable stored secret reads as.
UNREADABLE = "\x00unreadable"

_PREFIX = "fernet:"


def _keys() -> list[bytes]:
    configured = [k.strip() for k in settings.DHCPADMIN_ENCRYPTION_KEYS if k.strip()]
    if configured:
        return [k.encode("ascii") for k in configured]
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"dhcpadmin-secrets", info=b"fernet"
    ).derive(settings.SECRET_KEY.encode("utf-8"))
    return [base64.urlsafe_b64encode(derived)]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt(plain: str) -> str:
    return _PREFIX + _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        return UNREADABLE
    try:
        return _fernet().decrypt(token[len(_PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return UNREADABLE


class EncryptedTextField(models.TextField):
    """A text column whose value is stored Fernet-encrypted; '' stays '' (no secret)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
