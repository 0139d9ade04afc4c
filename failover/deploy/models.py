"""How dhcpadmin reaches a server over SSH (``SshTarget``): address, key, paths, commands,
the pinned host key and the last drift check.

Paths and commands never reach a shell as typed: :meth:`SshTarget.command` splits the
command template with ``shlex.split`` and substitutes ``{file}`` as one whole argument, and
:mod:`failover.deploy.ssh` quotes every argument with ``shlex.quote``. Control characters and
NUL are refused in every path, user and command (model validators).
"""

from __future__ import annotations

import re
import shlex

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from failover.crypto import EncryptedTextField
from failover.validators import validate_host, validate_no_control_chars

__all__ = ["SshTarget", "DriftStatus"]


class DriftStatus(models.TextChoices):
    NEVER_DEPLOYED = "never deployed", "never deployed"
    IN_SYNC = "in sync", "in sync"
    DRIFT = "drift", "drift"
    UNREACHABLE = "unreachable", "unreachable"
    UNKNOWN = "unknown", "unknown"


_USER_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,31}\Z")


def validate_ssh_user(value: str) -> None:
    if not _USER_RE.match(value or ""):
        raise ValidationError(
            "A user name: a letter or '_' first, then letters, digits, '_', '.', '-' (at most 32).",
            code="user",
        )


def validate_absolute_path(value: str) -> None:
    validate_no_control_chars(value)
    if value and not value.startswith("/"):
        raise ValidationError("Enter an absolute path (starting with '/').", code="path")


def validate_command_template(value: str) -> None:
    """A command template: no control characters, splits into words (shlex), and only the
    place holder ``{file}`` (no other braces)."""
    validate_no_control_chars(value)
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ValidationError(f"The command cannot be split into words: {exc}.") from None
    if not words:
        raise ValidationError("Enter a command.", code="empty")
    for word in words:
        rest = word.replace("{file}", "")
        if "{" in rest or "}" in rest:
            raise ValidationError(
                "Only the place holder {file} may appear in braces.", code="placeholder"
            )


#: The command templates of a target (``SshTarget.command(name)``).
COMMANDS = ("check_command", "restart_command", "status_command")


class SshTarget(models.Model):
    """The SSH settings of one server (``server.ssh``)."""

    server = models.OneToOneField(
        "failover.DhcpServer", on_delete=models.CASCADE, related_name="ssh"
    )
    host = models.CharField(
        "SSH host",
        max_length=253,
        blank=True,
        validators=[validate_host],
        help_text="Where dhcpadmin connects over SSH; empty: the server's address.",
    )
    port = models.PositiveIntegerField(
        "SSH port",
        default=22,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    user = models.CharField(
        "SSH user", max_length=32, default="root", validators=[validate_ssh_user]
    )
    key_path = models.CharField(
        "Private key file",
        max_length=1024,
        blank=True,
        validators=[validate_absolute_path],
        help_text="A private key file on the dhcpadmin host (or store the key below).",
    )
    key_secret = EncryptedTextField(
        "Private key",
        blank=True,
        help_text="An OpenSSH/PEM private key; stored encrypted, never shown again.",
    )
    config_path = models.CharField(
        "Config path",
        max_length=1024,
        default="/etc/dhcp/dhcpd.conf",
        validators=[validate_absolute_path],
    )
    leases_path = models.CharField(
        "Leases path",
        max_length=1024,
        default="/var/lib/dhcp/dhcpd.leases",
        validators=[validate_absolute_path],
    )
    check_command = models.CharField(
        "Check command",
        max_length=1024,
        default="dhcpd -t -cf {file}",
        validators=[validate_command_template],
        help_text="Run on the server against the uploaded file; {file} is its path.",
    )
    restart_command = models.CharField(
        "Restart command",
        max_length=1024,
        default="systemctl restart isc-dhcp-server",
        validators=[validate_command_template],
    )
    status_command = models.CharField(
        "Status command",
        max_length=1024,
        default="systemctl is-active isc-dhcp-server",
        validators=[validate_command_template],
        help_text="Exits 0 when dhcpd runs (checked after a restart).",
    )
    use_sudo = models.BooleanField(
        "Use sudo", default=False, help_text="Run the commands through 'sudo -n'."
    )
    # The pinned host key (empty: none accepted yet) and the last key the server offered
    # that is not the pinned one (waiting for an admin to accept it).
    host_key_type = models.CharField(max_length=64, blank=True)
    host_key = models.TextField(blank=True, help_text="Base64 of the accepted host key.")
    offered_key_type = models.CharField(max_length=64, blank=True)
    offered_key = models.TextField(blank=True)
    drift_status = models.CharField(
        max_length=20, choices=DriftStatus.choices, default=DriftStatus.UNKNOWN
    )
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    drift_detail = models.TextField(blank=True)

    class Meta:
        verbose_name = "SSH target"

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    @property
    def address(self) -> str:
        return self.host or self.server.address

    @property
    def has_key(self) -> bool:
        return bool(self.key_path or self.key_secret)

    @property
    def host_key_pinned(self) -> bool:
        return bool(self.host_key)

    @property
    def host_key_fingerprint(self) -> str:
        from failover.deploy.ssh import fingerprint

        return fingerprint(self.host_key) if self.host_key else ""

    @property
    def offered_key_fingerprint(self) -> str:
        from failover.deploy.ssh import fingerprint

        return fingerprint(self.offered_key) if self.offered_key else ""

    def command(self, template_name: str, **values: str) -> list[str]:
        """The command ``template_name`` (one of ``COMMANDS``) as argv:
        the template split into words with ``shlex.split``; each ``{name}`` in a word is
        replaced by the value as text (never parsed, never split)."""
        if template_name not in COMMANDS:
            raise ValueError(f"no command {template_name!r}")
        template = getattr(self, template_name)
        validate_command_template(template)
        for value in values.values():
            validate_no_control_chars(value)
        argv = []
        for word in shlex.split(template):
            for name, value in values.items():
                word = word.replace("{" + name + "}", value)
            argv.append(word)
        return argv
