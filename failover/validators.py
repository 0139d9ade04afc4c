"""Field validators shared by the models (and so by forms, admin, services and the importer).

Anything that may reach a dhcpd.conf is restricted here to a character set that cannot change
the structure of the file; the renderer escapes strings on top of that.
"""

import ipaddress
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

SAFE_NAME_RE = r"^[A-Za-z0-9_.-]+$"

# RegexValidator uses re.search, and "$" also matches before a trailing newline: anchor with
# \A...\Z so "name\n" is refused. SAFE_NAME_RE itself stays usable as an HTML pattern.
validate_safe_name = RegexValidator(
    r"\A[A-Za-z0-9_.-]+\Z",
    "Use only letters, digits, '-', '_' and '.'.",
    code="invalid_name",
)

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_HBA_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}\Z")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def validate_no_control_chars(value: str) -> None:
    if value and _CONTROL_RE.search(value):
        raise ValidationError(
            "Control characters (newlines, tabs, NUL…) are not allowed here.", code="control"
        )


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
# What ipaddress.IPv4Address accepts as text (ASCII digits, no leading zeros), as one regular
# expression: the importer checks tens of thousands of addresses.
_IPV4_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def is_ipv4(value: str) -> bool:
    if isinstance(value, str):
        return _IPV4_RE.fullmatch(value) is not None
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
# _HOSTNAME_LABEL for every dot-separated label, as one expression (the importer checks a
# domain name per subnet).
_HOSTNAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\Z")


def validate_hostname(value: str) -> None:
    """A DNS name (RFC 1123 labels), without a trailing dot."""
    if not value or len(value) > 253:
        raise ValidationError("Enter a DNS name of at most 253 characters.", code="hostname")
    if not _HOSTNAME_RE.match(value):
        raise ValidationError(
            "Enter a valid DNS name (letters, digits and '-' in dot-separated labels).",
            code="hostname",
        )


def validate_host(value: str) -> None:
    """An IPv4 address or a DNS name: what dhcpd takes for `address` and `peer address`."""
    if is_ipv4(value):
        return
    if re.fullmatch(r"[0-9.]+", value or ""):
        raise ValidationError(f"'{value}' is not a valid IPv4 address.", code="ip")
    try:
        validate_hostname(value)
    except ValidationError:
        raise ValidationError("Enter an IPv4 address or a DNS name.", code="host") from None


def validate_hba(value: str) -> None:
    if value and not _HBA_RE.match(value):
        raise ValidationError(
            "The hash bucket assignment is exactly 32 hex bytes separated by colons "
            "(e.g. ff:ff:…:ff).",
            code="hba",
        )


def validate_ipv4_list(value: str) -> None:
    """A comma-separated list of IPv4 addresses (e.g. routers, domain name servers)."""
    validate_no_control_chars(value)
    for item in split_list(value):
        if not is_ipv4(item):
            raise ValidationError(f"'{item}' is not a valid IPv4 address.", code="ip_list")


def validate_domain_name(value: str) -> None:
    if value:
        validate_hostname(value.rstrip("."))


def split_list(value: str) -> list[str]:
    return [item.strip() for item in (value or "").replace(";", ",").split(",") if item.strip()]


# --- numbers written into dhcpd.conf ---------------------------------------------------------

#: The largest number dhcpd 4.4 reads without wrapping for every integer dhcpadmin writes
#: (failover statements go through ``atoi`` into an ``int``; lease times are 32-bit and
#: 0xffffffff means "infinite"; dhcpd's own MAX_TIME), and PostgreSQL's ``integer``.
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Limit:
    """The values a number field holds: ``low`` to ``high``, inclusive. ``hint`` says why
    a value below ``low`` is refused (shown with the message)."""

    low: int
    high: int
    hint: str = ""

    def message(self, label: str, value: int) -> str:
        text = f"{label} must be between {self.low} and {self.high}, not {value}"
        if value < self.low and self.hint:
            text += f" ({self.hint})"
        return text

    def validators(self) -> list:
        return [MinValueValidator(self.low), MaxValueValidator(self.high)]


_DEFAULT = "dhcpd reads 0 as its default: leave the statement out instead"

#: The one home of the limits of every integer dhcpadmin writes into dhcpd.conf, by model
#: field name: the models' validators and database constraints, the parser (failover peer
#: statements) and the importer (lease times, omapi-port) all read them from here.
LIMITS: dict[str, Limit] = {
    "omapi_port": Limit(1, 65535),
    "port": Limit(1, 65535),
    "peer_port": Limit(1, 65535),
    "max_response_delay": Limit(1, INT_MAX, _DEFAULT),
    "max_unacked_updates": Limit(1, INT_MAX, _DEFAULT),
    "mclt": Limit(1, INT_MAX, "dhcpd refuses a primary without an mclt, and reads 0 as none"),
    "split": Limit(0, 256),
    "load_balance_max_seconds": Limit(0, INT_MAX),
    "auto_partner_down": Limit(0, INT_MAX),
    "max_lease_misbalance": Limit(1, 100, _DEFAULT),
    "max_lease_ownership": Limit(1, 100, _DEFAULT),
    "min_balance": Limit(1, INT_MAX, _DEFAULT),
    "max_balance": Limit(1, INT_MAX, _DEFAULT),
    "default_lease_time": Limit(1, INT_MAX),
    "max_lease_time": Limit(1, INT_MAX),
}


def limit_validators(name: str) -> list:
    """MinValueValidator and MaxValueValidator of the field ``name`` (see LIMITS)."""
    return LIMITS[name].validators()
