"""Per-server settings of the Kea export: what dhcpd.conf has no word for.

A server without a row uses the defaults (:func:`settings_for`), which are Debian 12's
(Kea 2.2) paths, every interface, and the control agent on the server's own address,
port 8000.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from failover.models import PORT_VALIDATORS, DhcpServer
from failover.validators import is_ipv4

__all__ = ["KeaSettings"]

_INTERFACE = re.compile(r"\A(\*|[A-Za-z0-9_.:-]{1,15}(/[0-9.]{7,15})?)\Z")
_PATH = re.compile(r"\A/[A-Za-z0-9_./+-]{1,250}\Z")

DEFAULT_CONTROL_SOCKET = "/run/kea/kea4-ctrl-socket"
DEFAULT_LEASE_FILE = "/var/lib/kea/kea-leases4.csv"
DEFAULT_HOOKS_DIR = "/usr/lib/x86_64-linux-gnu/kea/hooks"
DEFAULT_CONTROL_AGENT_PORT = 8000


def validate_interfaces(value: str) -> None:
    names = [n.strip() for n in value.split(",")]
    if not value.strip() or any(not _INTERFACE.match(n) for n in names):
        raise ValidationError(
            "Comma-separated interface names (letters, digits, '_', '.', ':', '-'; at most "
            "15 characters, optionally /ADDRESS), or '*' for every interface."
        )


def validate_path(value: str) -> None:
    if not _PATH.match(value) or "/../" in value + "/" or value.endswith("/."):
        raise ValidationError(
            "An absolute path of letters, digits and '_', '.', '/', '+', '-' (no '..')."
        )


def validate_ipv4(value: str) -> None:
    if not is_ipv4(value):
        raise ValidationError("An IPv4 address (Kea's HA peer URLs name an address).")


class KeaSettings(models.Model):
    """How one server is exported to Kea (one row per server at most)."""

    class Target(models.TextChoices):
        KEA_2_2 = "2.2", "Kea 2.2 (Debian 12)"
        KEA_2_7_5 = "2.7.5", "Kea 2.7.5 or later"

    server = models.OneToOneField(
        DhcpServer, on_delete=models.CASCADE, related_name="kea_settings", verbose_name="Server"
    )
    interfaces = models.CharField(
        "Interfaces",
        max_length=255,
        default="*",
        validators=[validate_interfaces],
        help_text="Comma-separated interfaces kea-dhcp4 listens on; '*' is every interface.",
    )
    control_agent_address = models.CharField(
        "Control agent address",
        max_length=15,
        blank=True,
        validators=[validate_ipv4],
        help_text="The address of this server's kea-ctrl-agent in its partner's peer URL "
        "(HA traffic); empty: the server's address.",
    )
    control_agent_listen = models.CharField(
        "Control agent listens on",
        max_length=15,
        blank=True,
        validators=[validate_ipv4],
        help_text="http-host of kea-ctrl-agent; empty: the control agent address. 0.0.0.0 "
        "also answers on management addresses.",
    )
    control_agent_port = models.PositiveIntegerField(
        "Control agent port", default=DEFAULT_CONTROL_AGENT_PORT, validators=PORT_VALIDATORS
    )
    control_socket = models.CharField(
        "Control socket",
        max_length=255,
        default=DEFAULT_CONTROL_SOCKET,
        validators=[validate_path],
        help_text="The UNIX socket between kea-dhcp4 and kea-ctrl-agent.",
    )
    lease_file = models.CharField(
        "Lease file",
        max_length=255,
        default=DEFAULT_LEASE_FILE,
        validators=[validate_path],
        help_text="The memfile lease database.",
    )
    hooks_dir = models.CharField(
        "Hook libraries directory",
        max_length=255,
        default=DEFAULT_HOOKS_DIR,
        validators=[validate_path],
        help_text="Where libdhcp_ha.so and libdhcp_lease_cmds.so are (Debian's path by default).",
    )
    target = models.CharField(
        "Kea version",
        max_length=8,
        choices=Target.choices,
        default=Target.KEA_2_2,
        help_text="2.7.5 or later writes a pool's class as the list 'client-classes'.",
    )

    class Meta:
        verbose_name = "Kea export settings"
        verbose_name_plural = "Kea export settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(control_agent_port__gte=1, control_agent_port__lte=65535),
                name="kea_control_agent_port_in_range",
                violation_error_message="Ports are between 1 and 65535.",
            )
        ]

    def __str__(self) -> str:
        return f"Kea settings of {self.server}"

    @property
    def interface_list(self) -> list[str]:
        return [n.strip() for n in self.interfaces.split(",") if n.strip()]

    @property
    def url_address(self) -> str:
        """The address in the peer URL (this server's control agent)."""
        return self.control_agent_address or self.server.address

    @property
    def listen_address(self) -> str:
        return self.control_agent_listen or self.url_address

    @property
    def client_classes_list(self) -> bool:
        return self.target == self.Target.KEA_2_7_5
