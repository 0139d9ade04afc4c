"""The OMAPI key secret as a write-only form field (the server dialog and the admin), and
the redaction of rendered text for users who may not change the server.

Write-only: the field is a password input that never renders a value; left empty it keeps
the stored secret; "Remove the OMAPI key" clears name and secret. The secret is validated
as base64 (dhcpd's ``secret`` of an HMAC-MD5 key) before it is stored (encrypted,
failover/crypto.py). It never reaches a change record (the services record names only) nor
an error message.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from failover.crypto import UNREADABLE
from failover.models import DhcpServer

#: What replaces the secret in text shown to users who may not change the server.
REDACTED = "<secret hidden: needs permission to change the server>"
#: The permission that may see (and deploy) the secret.
SEE_SECRET_PERMISSION = "failover.change_dhcpserver"
MAX_SECRET_CHARS = 512


def validate_secret(value: str) -> str:
    """The secret as dhcpd reads it (base64, no spaces), or ValidationError."""
    value = "".join(value.split())
    if len(value) > MAX_SECRET_CHARS:
        raise ValidationError(f"At most {MAX_SECRET_CHARS} characters.")
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            "Not base64. Make a key with e.g. "
            "'python3 -c \"import base64,os;print(base64.b64encode(os.urandom(32)).decode())\"'."
        ) from None
    if not key:
        raise ValidationError("The key is empty.")
    return value


class OmapiKeyFormMixin(forms.Form):
    """For a ModelForm of DhcpServer whose Meta.fields include ``omapi_key_name`` and
    ``omapi_key_secret``: the secret write-only, a checkbox to remove the key."""

    omapi_key_secret = forms.CharField(
        label="OMAPI key secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    omapi_key_clear = forms.BooleanField(
        label="Remove the OMAPI key (name and secret)", required=False
    )

    def _setup_secret_field(self, *, keep_clear: bool = False) -> None:
        form: Any = self
        form.initial.pop("omapi_key_secret", None)  # never travels back to the browser
        instance = form.instance
        stored = bool(instance.pk and instance.omapi_key_secret)
        field = form.fields["omapi_key_secret"]
        if stored and instance.omapi_key_secret == UNREADABLE:
            field.help_text = (
                "The stored secret cannot be decrypted (the encryption key changed): "
                "enter it again."
            )
        elif stored:
            field.help_text = "A secret is stored (never shown). Leave empty to keep it."
        else:
            field.help_text = (
                "Base64 secret of the HMAC-MD5 key (dhcpd's 'secret'); stored encrypted, "
                "never shown again."
            )
        if not stored and keep_clear:  # the admin's fieldsets list it: kept, disabled
            clear = form.fields["omapi_key_clear"]
            clear.disabled = True
            clear.help_text = "No key is stored."
        elif not stored:
            del form.fields["omapi_key_clear"]

    def clean_omapi_key_secret(self) -> str:
        form: Any = self
        value = form.cleaned_data.get("omapi_key_secret") or ""
        if not value:
            return form.instance.omapi_key_secret if form.instance.pk else ""
        return validate_secret(value)

    def clean(self) -> dict[str, Any]:
        form: Any = self
        cleaned = super().clean() or {}
        if cleaned.get("omapi_key_clear"):
            cleaned["omapi_key_name"] = ""
            cleaned["omapi_key_secret"] = ""
            return cleaned
        name, secret = cleaned.get("omapi_key_name"), cleaned.get("omapi_key_secret")
        if name and not secret and "omapi_key_secret" not in form.errors:
            form.add_error("omapi_key_secret", "Enter the secret of this key.")
        if secret and not name and "omapi_key_name" not in form.errors:
            form.add_error("omapi_key_name", "Enter the name of the key this secret belongs to.")
        return cleaned


# --- redaction ----------------------------------------------------------------------------


def may_see_secret(user: Any) -> bool:
    return bool(user and user.has_perm(SEE_SECRET_PERMISSION))


def redact(text: str, server: DhcpServer, user: Any = None) -> str:
    """``text`` with the server's OMAPI secret replaced, unless ``user`` may change the
    server (then the deployable text). Any text: the rendered file, dhcpd -t's output."""
    secret = server.omapi_key_secret
    if (
        not text
        or not secret
        or secret == UNREADABLE
        or (user is not None and may_see_secret(user))
    ):
        return text
    return text.replace(secret, REDACTED)


_SECRET_LINE = re.compile(r'^(\s*secret\s+)"[^"\n]*";', re.MULTILINE)


def redact_all(text: str) -> str:
    """Every ``secret "…";`` of a dhcpd.conf text replaced (whatever key it belongs to)."""
    return _SECRET_LINE.sub(lambda m: f'{m.group(1)}"{REDACTED}";', text)
