"""The SSH settings form of a server (the private key is write-only: never shown again)."""

from __future__ import annotations

from typing import Any

from django import forms

from failover.deploy.models import SshTarget
from failover.deploy.services import TARGET_FIELDS
from failover.validators import validate_no_control_chars


def _validate_key(value: str) -> None:
    if not value:
        return
    if "\x00" in value:
        raise forms.ValidationError("The key contains a NUL character.")
    if "PRIVATE KEY-----" not in value:
        raise forms.ValidationError(
            "Paste a private key in OpenSSH or PEM form (-----BEGIN … PRIVATE KEY-----)."
        )
    if "ENCRYPTED" in value or "Proc-Type: 4,ENCRYPTED" in value:
        raise forms.ValidationError("Use a key without a passphrase (the worker cannot type one).")


class SshTargetForm(forms.ModelForm):
    key_secret = forms.CharField(
        label="Private key",
        required=False,
        strip=False,
        validators=[_validate_key],
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "class": "font-monospace",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text="Stored encrypted, never shown again. Leave empty to keep the stored key.",
    )
    clear_key = forms.BooleanField(label="Remove the stored key", required=False)

    class Meta:
        model = SshTarget
        fields = list(TARGET_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key_secret"].initial = ""  # never rendered back
        if self.instance and self.instance.key_secret:
            self.fields[
                "key_secret"
            ].help_text = "A key is stored (encrypted; not shown). Paste a new one to replace it."
        else:
            del self.fields["clear_key"]
        for name in ("config_path", "leases_path", "check_command", "restart_command"):
            self.fields[name].validators.append(validate_no_control_chars)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_stored = bool(self.instance and self.instance.key_secret)
        new_key = data.get("key_secret")
        clear = data.get("clear_key")
        if new_key and clear:
            raise forms.ValidationError("Paste a new key or remove the stored one, not both.")
        keeps_stored = has_stored and not clear
        if not (new_key or keeps_stored or data.get("key_path")):
            raise forms.ValidationError("Give a private key file on this host or paste a key.")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            **{name: data[name] for name in TARGET_FIELDS},
            "key_secret": data.get("key_secret") or None,
            "clear_key": bool(data.get("clear_key")),
        }
