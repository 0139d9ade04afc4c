"""Servers, scopes, address pools and failover peers.

The rules that concern one object live here (``clean()`` and database constraints), so the
forms, the admin, the services and the importer all get them. Rules that change several rows
at once (first-peer assignment, delete-and-repoint, the last-referrer rule) live in
``failover.services``.

Imported dhcpd.conf files (``failover.dhcpd.importer``) are held in the same models. What
the model has no field for is kept verbatim (the parser's canonical text) in a
``statements`` list on the object it was declared in: a server (top level), a
``ScopeGroup`` (a ``shared-network`` or ``group`` that holds scopes), a scope (inside a
``subnet``) or an address pool (inside a ``pool``). Each list entry is
``[position, text]`` (a statement, verbatim) or ``[position, {...}]`` (a place holder:
``{"field": name}`` for a model field written at that place, ``{"peers": true}`` for the
failover peer declarations, ``{"peer": name}`` for a shared-network's
``failover peer "NAME";``). Scopes, groups and pool blocks carry a ``position`` in the
body of their container, so the renderer writes everything back in the file's order.
Objects made in dhcpadmin have no position and an empty list; they are written in the
renderer's usual order. One ``AddressPool`` is one ``range``: the ranges of one
``pool { }`` block share its container and position (and its statements); ``bare``
pools are ``range`` statements written directly in a subnet.

The overlap rule has one home, :func:`find_overlaps` (one sort and one sweep), used by
``Scope.clean()``, ``AddressPool.clean()`` and, for a whole file at once, the importer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Count, Q
from django.db.models.query_utils import DeferredAttribute

from failover.crypto import EncryptedTextField

from .validators import (
    LIMITS,
    is_ipv4,
    limit_validators,
    validate_domain_name,
    validate_hba,
    validate_host,
    validate_ipv4_list,
    validate_no_control_chars,
    validate_safe_name,
)

PORT_VALIDATORS = limit_validators("port")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def ipv4_int(value: str) -> int:
    """``int(ipaddress.IPv4Address(value))``, several times faster for text in the usual
    form (the importer reads tens of thousands); anything else takes the ordinary path
    (and its ValueError)."""
    if isinstance(value, str) and is_ipv4(value):
        a, b, c, d = value.split(".")
        return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
    return int(ipaddress.IPv4Address(value))


def network_span(value: Any) -> tuple[int, int] | None:
    """The first and last address of a network in CIDR form ``A.B.C.D/N`` as integers, or
    None when ``value`` is not one (host bits are ignored: the model's rules refuse them)."""
    if not isinstance(value, str):
        return None
    address, _, prefix = value.strip().partition("/")
    if not (prefix.isascii() and prefix.isdigit() and len(prefix) < 3 and is_ipv4(address)):
        return None
    length = int(prefix)
    if length > 32:
        return None
    host_bits = 0xFFFFFFFF >> length
    low = ipv4_int(address) & ~host_bits & 0xFFFFFFFF
    return low, low | host_bits


def _address_int(value: Any) -> int | None:
    if isinstance(value, str) and is_ipv4(value.strip()):
        return ipv4_int(value.strip())
    return None


class _SetsSortIntegers(DeferredAttribute):
    """Setting an address or network (by code, a form, a load from the database) also sets
    the integer columns that mirror it, so every way of saving stores them (``save``,
    ``bulk_create``, ``bulk_update``, the importer's own inserts) without a step to forget."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value
        self.field.set_integers(instance, value)  # type: ignore[attr-defined]


class NetworkField(models.CharField):
    """A network in CIDR form, mirrored into the integer columns ``first_int`` and
    ``last_int`` (its network and broadcast addresses), which give the numeric order
    (``10.0.2.0/24`` before ``10.0.10.0/24``) on every database."""

    descriptor_class = _SetsSortIntegers

    def set_integers(self, instance: models.Model, value: Any) -> None:
        span = network_span(value)
        instance.__dict__["first_int"], instance.__dict__["last_int"] = span or (None, None)


class IPv4AddressField(models.GenericIPAddressField):
    """An IPv4 address mirrored into the integer column ``integer_field`` (numeric order
    on SQLite too, where addresses are text)."""

    descriptor_class = _SetsSortIntegers

    def __init__(self, *args: Any, integer_field: str, **kwargs: Any) -> None:
        self.integer_field = integer_field
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["integer_field"] = self.integer_field
        return name, path, args, kwargs

    def set_integers(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.integer_field] = _address_int(value)


def limit_constraint(prefix: str, name: str, label: str) -> models.CheckConstraint:
    """The database's copy of the limit of the number field ``name`` (see
    ``failover.validators.LIMITS``): the same on SQLite and PostgreSQL, also for rows that
    never went through ``full_clean``. An empty (NULL) value passes."""
    limit = LIMITS[name]
    return models.CheckConstraint(
        condition=Q(**{f"{name}__isnull": True})
        | Q(**{f"{name}__gte": limit.low, f"{name}__lte": limit.high}),
        name=f"{prefix}_{name}_in_range",
        violation_error_message=f"{label} is between {limit.low} and {limit.high}.",
    )


def sort_integer_field(help_text: str) -> models.BigIntegerField:
    return models.BigIntegerField(null=True, blank=True, editable=False, help_text=help_text)


def ipv4_address(value: str) -> ipaddress.IPv4Address:
    """``ipaddress.IPv4Address(value)``, through :func:`ipv4_int`."""
    return ipaddress.IPv4Address(ipv4_int(value))


def related(obj: models.Model, name: str) -> Any:
    """The object a foreign key refers to, saved or not yet (the importer validates whole
    files before saving anything); None when it is unset."""
    field = cast(models.ForeignKey, obj._meta.get_field(name))
    if getattr(obj, field.attname) is None and not field.is_cached(obj):
        return None
    return getattr(obj, name)


def _holds(group: Any, scope: Any) -> bool:
    """Is ``scope`` inside ``group`` (directly or through nested groups)?"""
    current = related(scope, "group")
    for _ in range(100):
        if current is None:
            return False
        if current is group or (current.pk is not None and current.pk == group.pk):
            return True
        current = related(current, "parent")
    return False


def _is_safe_name(value: str) -> bool:
    try:
        validate_safe_name(value)
    except ValidationError:
        return False
    return True


MIN_PREFIX, MAX_PREFIX = 8, 30

T = TypeVar("T")


def find_overlaps(items: Iterable[tuple[int, int, T]]) -> list[tuple[T, T]]:
    """Every pair of overlapping closed intervals ``(low, high, obj)``, as ``(obj, other)``
    where ``other`` starts first (or at the same address).

    The one home of the overlap rule (scopes of a server, pools of a scope): one sort and
    one sweep that keeps only the intervals still open, so a set without overlaps costs
    O(n log n), not the O(n^2) of comparing each object with all the others.
    """
    open_: list[tuple[int, T]] = []  # (high, obj) of the intervals that reach this far
    pairs: list[tuple[T, T]] = []
    for low, high, obj in sorted(items, key=lambda item: (item[0], item[1])):
        open_ = [entry for entry in open_ if entry[0] >= low]
        pairs.extend((obj, other) for _, other in open_)
        open_.append((high, obj))
    return pairs


def scope_overlap_message(scope: Scope, other: Scope) -> str:
    if other.network == scope.network:
        return "This server already has a scope for this network."
    return f"Overlaps scope {other.network} on this server."


def pool_overlap_message(pool: AddressPool, other: AddressPool) -> str:
    return f"Overlaps the pool {other.first_address}-{other.last_address}."


def _interval(net: ipaddress.IPv4Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _overlapping(obj: T, pairs: list[tuple[T, T]]) -> list[T]:
    """The objects that ``obj`` overlaps, from :func:`find_overlaps` pairs."""
    out = []
    for a, b in pairs:
        if a is obj:
            out.append(b)
        elif b is obj:
            out.append(a)
    return out


def check_statements(value: Any) -> None:
    """The ``statements`` list of an imported object: ``[position, text]`` entries (a
    verbatim statement) and ``[position, {...}]`` place holders (see the module docstring)."""
    if not isinstance(value, list):
        raise ValidationError("The kept statements must be a list.")
    for entry in value:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], int)
            and not isinstance(entry[0], bool)
            and entry[0] >= 0
            and isinstance(entry[1], str | dict)
        ):
            raise ValidationError(f"Not a kept statement: {entry!r}")
        if isinstance(entry[1], str) and "\x00" in entry[1]:
            raise ValidationError("A kept statement cannot contain a NUL character.")


def check_comments(value: Any) -> None:
    """The ``comments`` of an imported peer or pool: ``{place: ["# ...", ...]}``, each line
    one comment as written in the file (one line, starting with '#'), so that writing it
    back can never add a statement."""
    if not isinstance(value, dict):
        raise ValidationError("The comments must be a mapping.")
    for place, lines in value.items():
        if not isinstance(place, str) or not isinstance(lines, list):
            raise ValidationError(f"Not a list of comments: {place!r}")
        for line in lines:
            if (
                not isinstance(line, str)
                or not line.startswith("#")
                or any(ch in line for ch in "\n\r\x00")
            ):
                raise ValidationError(f"Not a one-line comment: {line!r}")


def comments_field(help_text: str) -> models.JSONField:
    return models.JSONField(
        "Comments",
        default=dict,
        blank=True,
        editable=False,
        validators=[check_comments],
        help_text=help_text,
    )


def statements_field(help_text: str, *, null: bool = False) -> models.JSONField:
    return models.JSONField(
        "Kept statements",
        default=None if null else list,
        null=null,
        blank=True,
        editable=False,
        validators=[check_statements],
        help_text=help_text,
    )


def position_field() -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        "Position",
        null=True,
        blank=True,
        editable=False,
        help_text="Place in the body of its container in the imported file (empty: made here).",
    )


class DhcpServer(models.Model):
    name = models.CharField(
        "Name",
        max_length=64,
        unique=True,
        validators=[validate_safe_name],
        help_text="Letters, digits, '-', '_' and '.'.",
    )
    address = models.CharField(
        "Address",
        max_length=253,
        validators=[validate_host],
        help_text="IPv4 address or DNS name of the server.",
    )
    description = models.TextField(
        "Description", blank=True, validators=[ProhibitNullCharactersValidator()]
    )
    omapi_port = models.PositiveIntegerField(
        "OMAPI Port",
        null=True,
        blank=True,
        validators=PORT_VALIDATORS,
        help_text="If set, rendered as omapi-port so live state can be read.",
    )
    omapi_host = models.CharField(
        "OMAPI address",
        max_length=253,
        blank=True,
        validators=[validate_host],
        help_text="Where dhcpadmin reaches the server's OMAPI (a management address); "
        "empty: the server's address.",
    )
    omapi_key_name = models.CharField(
        "OMAPI key name",
        max_length=64,
        blank=True,
        validators=[validate_safe_name],
        help_text="The name of the HMAC-MD5 key dhcpd's OMAPI requires (key …; omapi-key …;).",
    )
    omapi_key_secret = EncryptedTextField(
        "OMAPI key secret",
        blank=True,
        help_text="Base64 secret of the OMAPI key; stored encrypted, never shown again.",
    )
    statements = statements_field(
        "Top-level statements of the imported dhcpd.conf that have no field here, verbatim. "
        "Empty (null) for a server made in dhcpadmin, which is written with "
        "'authoritative;' and 'ddns-update-style none;'.",
        null=True,
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "DHCP server"
        constraints = [limit_constraint("server", "omapi_port", "The OMAPI port")]
        # Operations on the running servers, given to the Operators group (failover/access.py),
        # not to every user who may edit the model.
        permissions = [
            ("operate_failover", "Can change the live failover state (partner-down)"),
            ("deploy_server", "Can deploy configurations to the running servers"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def omapi_address(self) -> str:
        """The host dhcpadmin connects to for OMAPI."""
        return self.omapi_host or self.address

    @property
    def imported(self) -> bool:
        """True once a dhcpd.conf was imported: the file's top level is then kept as is."""
        return self.statements is not None


_DOTTED_NAME = re.compile(r"\A[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?\Z")


class ScopeGroup(models.Model):
    """A ``shared-network`` or ``group`` declaration of an imported file that holds scopes.

    Its subnets (``Scope.group``), pools declared in it (``AddressPool.group``, a
    shared-network's pools may take ranges of several of its subnets), nested groups
    (``parent``) and its own statements, verbatim, are written back inside it. A group that
    holds no scope is not a ScopeGroup: it is kept verbatim where it was.
    """

    class Kind(models.TextChoices):
        SHARED_NETWORK = "shared-network", "Shared network"
        GROUP = "group", "Group"

    server = models.ForeignKey(DhcpServer, on_delete=models.CASCADE, related_name="scope_groups")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    kind = models.CharField("Kind", max_length=14, choices=Kind.choices)
    name = models.CharField("Name", max_length=253, blank=True)
    quoted = models.BooleanField("Quoted name", default=False)
    position = position_field()
    statements = statements_field("Statements of the block that have no field here, verbatim.")

    class Meta:
        ordering = ["server__name", "position", "pk"]
        verbose_name = "shared network or group"

    def __str__(self) -> str:
        return self.header

    @property
    def header(self) -> str:
        """How the block opens in dhcpd.conf (without the brace)."""
        if not self.name and self.kind == self.Kind.GROUP:
            return "group"
        if self.quoted:
            from .dhcpd.tokenizer import quote

            return f"{self.kind} {quote(self.name)}"
        return f"{self.kind} {self.name}"

    def clean(self) -> None:
        errors = self.own_errors()
        if errors:
            raise ValidationError(errors)

    def own_errors(self) -> dict[str, str]:
        """The rules of this group alone (no query once its parent is loaded): its name
        (what dhcpd.conf can hold and dhcpadmin can write back) and its parent. The importer
        checks every group it creates or changes with them, as ``clean()`` does."""
        errors: dict[str, str] = {}
        if self.kind == self.Kind.SHARED_NETWORK and not self.name:
            errors["name"] = "A shared-network needs a name."
        if self.name:
            if _CONTROL_CHARS.search(self.name):
                errors["name"] = "Control characters are not allowed in the name."
            elif not self.quoted and not _DOTTED_NAME.match(self.name):
                errors["name"] = (
                    "An unquoted name is letters, digits, '-' and '_' in dot-separated labels."
                )
            elif len(self.name.encode("utf-8")) > 1024:
                errors["name"] = "The name is too long."
        parent = related(self, "parent")
        if parent is not None:
            if parent is self or (self.pk is not None and parent.pk == self.pk):
                errors["parent"] = "A group cannot contain itself."
            elif parent.server_id != self.server_id:
                errors["parent"] = "The enclosing group must be on the same server."
        return errors


class ScopeQuerySet(models.QuerySet):
    def with_pools(self) -> ScopeQuerySet:
        return self.prefetch_related(
            models.Prefetch("pools", queryset=AddressPool.objects.select_related("failover_peer"))
        )


class Scope(models.Model):
    server = models.ForeignKey(DhcpServer, on_delete=models.CASCADE, related_name="scopes")
    # Set with the network (NetworkField): its first and last address, for numeric order.
    # Declared before it, so that Model.__init__ sets their defaults first.
    first_int = sort_integer_field("The network address as an integer (set with the network).")
    last_int = sort_integer_field("The broadcast address as an integer (set with the network).")
    network = NetworkField(
        "Network", max_length=18, help_text="IPv4 network in CIDR form, e.g. 10.0.0.0/24."
    )
    name = models.CharField(
        "Name", max_length=100, blank=True, validators=[validate_no_control_chars]
    )
    routers = models.CharField(
        "Routers",
        max_length=255,
        blank=True,
        validators=[validate_ipv4_list],
        help_text="Comma-separated IPv4 addresses.",
    )
    domain_name_servers = models.CharField(
        "Domain Name Servers",
        max_length=255,
        blank=True,
        validators=[validate_ipv4_list],
        help_text="Comma-separated IPv4 addresses.",
    )
    domain_name = models.CharField(
        "Domain Name", max_length=253, blank=True, validators=[validate_domain_name]
    )
    default_lease_time = models.PositiveIntegerField(
        "Default Lease Time",
        null=True,
        blank=True,
        validators=limit_validators("default_lease_time"),
        help_text="Seconds.",
    )
    max_lease_time = models.PositiveIntegerField(
        "Max Lease Time",
        null=True,
        blank=True,
        validators=limit_validators("max_lease_time"),
        help_text="Seconds.",
    )
    group = models.ForeignKey(
        ScopeGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="scopes",
        verbose_name="Shared network or group",
    )
    position = position_field()
    statements = statements_field(
        "Statements of the subnet that have no field here, verbatim (hosts, other options, …)."
    )

    objects = ScopeQuerySet.as_manager()

    #: The scope's dhcpd options and statements that the model holds in fields.
    OPTION_FIELDS = (
        "routers",
        "domain_name_servers",
        "domain_name",
        "default_lease_time",
        "max_lease_time",
    )

    class Meta:
        ordering = ["server__name", "first_int", "-last_int"]
        indexes = [
            models.Index(fields=["server", "first_int"], name="scope_server_numeric"),
            models.Index(fields=["first_int", "last_int"], name="scope_numeric"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "network"],
                name="scope_unique_network_per_server",
                violation_error_message="This server already has a scope for this network.",
            ),
            limit_constraint("scope", "default_lease_time", "The default lease time"),
            limit_constraint("scope", "max_lease_time", "The max lease time"),
        ]

    def __str__(self) -> str:
        return f"{self.network} ({self.name})" if self.name else self.network

    @property
    def ip_network(self) -> ipaddress.IPv4Network:
        cached = self.__dict__.get("_ip_network")
        if cached is None or cached[0] != self.network:  # parsed once per value
            cached = (self.network, ipaddress.IPv4Network(self.network))
            self.__dict__["_ip_network"] = cached
        return cached[1]

    @property
    def interval(self) -> tuple[int, int]:
        """The network and broadcast addresses as integers (computed once per value)."""
        cached = self.__dict__.get("_interval")
        if cached is None or cached[0] != self.network:
            net = self.ip_network
            low = int(net.network_address)
            cached = (self.network, (low, low | (0xFFFFFFFF >> net.prefixlen)))
            self.__dict__["_interval"] = cached
        return cached[1]

    def clean_network(self) -> ipaddress.IPv4Network:
        """Check the network (CIDR form, no host bits, prefix length) and normalise it.
        No query: the importer calls it for every scope of a file."""
        value = (self.network or "").strip()
        if "/" not in value:
            raise ValidationError(
                {"network": "Enter an IPv4 network in CIDR form, e.g. 10.0.0.0/24."}
            )
        address, _, prefix = value.partition("/")
        try:
            if (
                is_ipv4(address)
                and prefix.isascii()
                and prefix.isdigit()
                and len(prefix) < 3
                and int(prefix) <= 32
            ):  # the usual form, with integers
                length, number = int(prefix), ipv4_int(address)
                low = number & ~(0xFFFFFFFF >> length) & 0xFFFFFFFF
                net = ipaddress.IPv4Network((low, length))
                host_bits = number != low
            else:  # the slow path, which explains what is wrong
                iface = ipaddress.IPv4Interface(value)
                net = iface.network
                host_bits = iface.ip != net.network_address
        except ValueError:
            raise ValidationError(
                {"network": "Enter an IPv4 network in CIDR form, e.g. 10.0.0.0/24."}
            ) from None
        if host_bits:
            raise ValidationError({"network": f"{value} has host bits set; did you mean {net}?"})
        if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
            raise ValidationError(
                {"network": f"The prefix length must be between /{MIN_PREFIX} and /{MAX_PREFIX}."}
            )
        self.network = str(net)
        low = int(net.network_address)
        # What ip_network and interval would compute.
        self.__dict__["_ip_network"] = (self.network, net)
        self.__dict__["_interval"] = (self.network, (low, low | (0xFFFFFFFF >> net.prefixlen)))
        return net

    def own_errors(self) -> dict[str, list[str]]:
        """The rules of this scope alone (no query): lease times, its group's server."""
        errors: dict[str, list[str]] = {}
        if (
            self.default_lease_time
            and self.max_lease_time
            and self.default_lease_time > self.max_lease_time
        ):
            errors.setdefault("default_lease_time", []).append(
                "The default lease time cannot exceed the max lease time."
            )
        group = related(self, "group")
        if group is not None and group.server_id != self.server_id:
            errors.setdefault("group", []).append(
                "The shared network or group must be on the same server."
            )
        return errors

    def clean(self) -> None:
        net = self.clean_network()
        errors = self.own_errors()
        if self.server_id:
            others = list(Scope.objects.filter(server_id=self.server_id).exclude(pk=self.pk))
            pairs = find_overlaps(
                [(*_interval(net), self)] + [(*_interval(o.ip_network), o) for o in others]
            )
            for other in sorted(_overlapping(self, pairs), key=lambda o: others.index(o)):
                # A duplicate network is also a database constraint; reported here so it
                # lands on the field (and forms that leave out `server` still see it).
                errors.setdefault("network", []).append(scope_overlap_message(self, other))
        if self.pk and "network" not in errors:
            for pool in self.pools.all():
                if not pool.fits_in(net):
                    errors.setdefault("network", []).append(
                        f"Pool {pool.first_address}-{pool.last_address} would fall outside {net}."
                    )
        if errors:
            raise ValidationError(errors)


class FailoverPeerQuerySet(models.QuerySet):
    def with_pool_counts(self) -> FailoverPeerQuerySet:
        return self.annotate(pool_count=Count("pools"))


class FailoverPeer(models.Model):
    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"

    server = models.ForeignKey(DhcpServer, on_delete=models.CASCADE, related_name="failover_peers")
    name = models.CharField(
        "Name",
        max_length=64,
        validators=[validate_safe_name],
        help_text="Letters, digits, '-', '_' and '.'; the same name on both partners.",
    )
    role = models.CharField("Role", max_length=9, choices=Role.choices, default=Role.PRIMARY)
    address = models.CharField(
        "Address",
        max_length=253,
        validators=[validate_host],
        help_text="IP address or DNS name on which this server listens for its peer.",
    )
    port = models.PositiveIntegerField("Port", default=647, validators=PORT_VALIDATORS)
    peer_address = models.CharField(
        "Peer Address",
        max_length=253,
        validators=[validate_host],
        help_text="IP address or DNS name of the partner server.",
    )
    peer_port = models.PositiveIntegerField("Peer Port", default=647, validators=PORT_VALIDATORS)
    max_response_delay = models.PositiveIntegerField(
        "Max Response Delay",
        default=60,
        validators=limit_validators("max_response_delay"),
        help_text="Seconds without a message before the connection is considered failed.",
    )
    max_unacked_updates = models.PositiveIntegerField(
        "Max Unacked Updates",
        default=10,
        validators=limit_validators("max_unacked_updates"),
        help_text="Messages sent before an acknowledgement is required; 10 is a good value.",
    )
    mclt = models.PositiveIntegerField(
        "Max Client Lead Time",
        null=True,
        blank=True,
        default=3600,
        validators=limit_validators("mclt"),
        help_text="Seconds. Primary only.",
    )
    split = models.PositiveSmallIntegerField(
        "Split Index",
        null=True,
        blank=True,
        default=128,
        validators=limit_validators("split"),
        help_text="0-256; 128 splits the load evenly. Primary only.",
    )
    load_balance_max_seconds = models.PositiveIntegerField(
        "Load Balance Max Seconds",
        null=True,
        blank=True,
        default=3,
        validators=limit_validators("load_balance_max_seconds"),
        help_text="Seconds; 3 or 5 recommended, 0 turns load balancing off.",
    )
    hba = models.CharField(
        "Hash Bucket Assignment (hba)",
        max_length=95,
        blank=True,
        validators=[validate_hba],
        help_text="32 colon-separated hex bytes; instead of the split index. Primary only.",
    )
    auto_partner_down = models.PositiveIntegerField(
        "Auto Partner Down",
        null=True,
        blank=True,
        validators=limit_validators("auto_partner_down"),
        help_text="Seconds; empty or 0 is off. Only safe with a dedicated link.",
    )
    max_lease_misbalance = models.PositiveSmallIntegerField(
        "Max Lease Misbalance",
        null=True,
        blank=True,
        validators=limit_validators("max_lease_misbalance"),
        help_text="Percent, 1-100 (dhcpd default 15).",
    )
    max_lease_ownership = models.PositiveSmallIntegerField(
        "Max Lease Ownership",
        null=True,
        blank=True,
        validators=limit_validators("max_lease_ownership"),
        help_text="Percent, 1-100 (dhcpd default 10); lower than the misbalance.",
    )
    min_balance = models.PositiveIntegerField(
        "Min Balance",
        null=True,
        blank=True,
        validators=limit_validators("min_balance"),
        help_text="Seconds (dhcpd default 60).",
    )
    max_balance = models.PositiveIntegerField(
        "Max Balance",
        null=True,
        blank=True,
        validators=limit_validators("max_balance"),
        help_text="Seconds (dhcpd default 3600).",
    )
    partner_server = models.ForeignKey(
        DhcpServer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="Partner Server",
        help_text="The managed server at the peer address; found from the peer address if empty.",
    )
    statements = statements_field(
        "Statements of the declaration that have no field here, verbatim "
        "(e.g. 'peer max-response-delay 30;')."
    )
    comments = comments_field(
        "Comments of the imported declaration, written back in place: 'before' it, before "
        "a statement (by its field name, 'role' for primary/secondary) and at its 'end'."
    )

    objects = FailoverPeerQuerySet.as_manager()

    PRIMARY_ONLY_FIELDS = ("mclt", "split", "hba")
    #: The fields that are statements of the `failover peer` declaration, in file order.
    STATEMENT_FIELDS = (
        "role",
        "address",
        "port",
        "peer_address",
        "peer_port",
        "max_response_delay",
        "max_unacked_updates",
        "mclt",
        "split",
        "hba",
        "load_balance_max_seconds",
        "auto_partner_down",
        "max_lease_misbalance",
        "max_lease_ownership",
        "min_balance",
        "max_balance",
    )
    # What dhcpd uses when the statement is absent (dhcpd.conf(5)).
    DEFAULT_MAX_LEASE_MISBALANCE, DEFAULT_MAX_LEASE_OWNERSHIP = 15, 10
    DEFAULT_MIN_BALANCE, DEFAULT_MAX_BALANCE = 60, 3600

    class Meta:
        ordering = ["server__name", "name"]
        verbose_name = "failover peer"
        constraints = [
            models.UniqueConstraint(
                fields=["server", "name"],
                name="peer_unique_name_per_server",
                violation_error_message="This server already has a failover peer of this name.",
            ),
            models.CheckConstraint(
                condition=Q(
                    port__gte=LIMITS["port"].low,
                    port__lte=LIMITS["port"].high,
                    peer_port__gte=LIMITS["peer_port"].low,
                    peer_port__lte=LIMITS["peer_port"].high,
                ),
                name="peer_ports_in_range",
                violation_error_message="Ports are between 1 and 65535.",
            ),
            *(
                limit_constraint("peer", name, label)
                for name, label in (
                    ("split", "The split index"),
                    ("max_response_delay", "The max response delay"),
                    ("max_unacked_updates", "The max unacked updates"),
                    ("mclt", "The max client lead time"),
                    ("load_balance_max_seconds", "The load balance max seconds"),
                    ("auto_partner_down", "The auto partner down"),
                    ("max_lease_misbalance", "The max lease misbalance"),
                    ("max_lease_ownership", "The max lease ownership"),
                    ("min_balance", "The min balance"),
                    ("max_balance", "The max balance"),
                )
            ),
            models.CheckConstraint(
                condition=Q(role="primary") | Q(role="secondary"),
                name="peer_role_valid",
                violation_error_message="The role is Primary or Secondary.",
            ),
            models.CheckConstraint(
                condition=Q(role="primary") | Q(mclt__isnull=True, split__isnull=True, hba=""),
                name="peer_secondary_has_no_primary_statements",
                violation_error_message=(
                    "A secondary peer has no max client lead time, split index or hba."
                ),
            ),
            models.CheckConstraint(
                condition=Q(role="secondary")
                | (
                    Q(mclt__isnull=False)
                    & ((Q(split__isnull=False) & Q(hba="")) | (Q(split__isnull=True) & ~Q(hba="")))
                ),
                name="peer_primary_has_mclt_and_split_or_hba",
                violation_error_message=(
                    "A primary peer needs a max client lead time and a split index or an hba "
                    "(not both)."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(address=models.F("peer_address")),
                name="peer_addresses_differ",
                violation_error_message="The address and the peer address must differ.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_primary(self) -> bool:
        return self.role == self.Role.PRIMARY

    def clean(self) -> None:
        errors = self.own_errors()
        if (
            "name" not in errors
            and self.server_id
            and self.name
            and _is_safe_name(self.name)  # else reported by the field; and no NUL in a query
            and FailoverPeer.objects.filter(server_id=self.server_id, name=self.name)
            .exclude(pk=self.pk)
            .exists()
        ):
            # Also a database constraint; reported here so it lands on the field.
            errors["name"] = "This server already has a failover peer of this name."
        if errors:
            raise ValidationError(errors)

    def own_errors(self) -> dict[str, str]:
        """The rules of this one declaration (no query): role rules, addresses, percentages,
        balance times, partner. The database constraints say the same."""
        errors: dict[str, str] = {}
        if self.role == self.Role.SECONDARY:
            for field in self.PRIMARY_ONLY_FIELDS:
                if getattr(self, field) not in (None, ""):
                    label = getattr(self._meta.get_field(field), "verbose_name", field)
                    errors[field] = f"{label} is only specified on the primary failover peer."
        elif self.role == self.Role.PRIMARY:
            if self.mclt is None:
                errors["mclt"] = "A primary failover peer needs a max client lead time."
            if self.split is not None and self.hba:
                errors["hba"] = "Give either the split index or the hba, not both."
            elif self.split is None and not self.hba:
                errors["split"] = "A primary failover peer needs a split index (or an hba)."
        if self.address and self.peer_address and self.address == self.peer_address:
            errors["peer_address"] = "The peer address must differ from the address."
        # An empty field means dhcpd's default, which the other field is compared with.
        ownership = self.max_lease_ownership
        misbalance = self.max_lease_misbalance
        if (ownership is not None or misbalance is not None) and (
            ownership if ownership is not None else self.DEFAULT_MAX_LEASE_OWNERSHIP
        ) >= (misbalance if misbalance is not None else self.DEFAULT_MAX_LEASE_MISBALANCE):
            field = "max_lease_ownership" if ownership is not None else "max_lease_misbalance"
            errors[field] = (
                "The max lease ownership must be lower than the max lease misbalance "
                f"(dhcpd defaults: {self.DEFAULT_MAX_LEASE_OWNERSHIP} and "
                f"{self.DEFAULT_MAX_LEASE_MISBALANCE})."
            )
        min_balance, max_balance = self.min_balance, self.max_balance
        if (min_balance is not None or max_balance is not None) and (
            min_balance if min_balance is not None else self.DEFAULT_MIN_BALANCE
        ) > (max_balance if max_balance is not None else self.DEFAULT_MAX_BALANCE):
            field = "min_balance" if min_balance is not None else "max_balance"
            errors[field] = (
                "The min balance cannot exceed the max balance "
                f"(dhcpd defaults: {self.DEFAULT_MIN_BALANCE} and {self.DEFAULT_MAX_BALANCE})."
            )
        if self.partner_server_id and self.partner_server_id == self.server_id:
            errors["partner_server"] = "The partner must be another server."
        return errors


class AddressPoolQuerySet(models.QuerySet):
    def for_server(self, server: DhcpServer) -> AddressPoolQuerySet:
        return self.filter(scope__server=server)

    def for_peer(self, peer: FailoverPeer) -> AddressPoolQuerySet:
        return self.filter(failover_peer=peer)


class AddressPool(models.Model):
    scope = models.ForeignKey(Scope, on_delete=models.CASCADE, related_name="pools")
    # Set with the addresses (IPv4AddressField), for numeric order on every database.
    # Declared before them, so that Model.__init__ sets their defaults first.
    first_int = sort_integer_field("The first address as an integer (set with it).")
    last_int = sort_integer_field("The last address as an integer (set with it).")
    first_address = IPv4AddressField("First Address", protocol="IPv4", integer_field="first_int")
    last_address = IPv4AddressField("Last Address", protocol="IPv4", integer_field="last_int")
    failover_peer = models.ForeignKey(
        FailoverPeer,
        # Pools are re-pointed by failover.services before a peer goes; RESTRICT still lets a
        # server or scope delete cascade through both.
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="pools",
        verbose_name="Failover Peer",
    )
    # How the pool is written (kept from an imported file; see the module docstring).
    group = models.ForeignKey(
        ScopeGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="pools",
        verbose_name="Declared in",
        help_text="The shared network whose 'pool' block holds this range (empty: the scope).",
    )
    position = position_field()
    bare = models.BooleanField(
        "Bare range",
        default=False,
        editable=False,
        help_text="Written as a 'range' statement directly in the subnet, without 'pool { }'.",
    )
    dynamic_bootp = models.BooleanField(
        "Dynamic BOOTP",
        default=False,
        editable=False,
        help_text="'range dynamic-bootp': never in a failover pool.",
    )

    class PeerStatement(models.TextChoices):
        NAMED = "", "Named in the pool"
        INHERIT = "inherit", "Taken from the shared network"
        NONE = "none", "'no failover peer'"

    peer_statement = models.CharField(
        "Failover peer statement",
        max_length=7,
        choices=PeerStatement.choices,
        default="",
        blank=True,
        editable=False,
    )
    statements = statements_field(
        "Statements of the pool block that have no field here, verbatim (allow, deny, …)."
    )
    comments = comments_field(
        "Comments of the imported range, written back in place: 'before' its range "
        "statement; for the first range of a pool block also before its 'peer' statement "
        "and at the block's 'end'."
    )

    objects = AddressPoolQuerySet.as_manager()

    class Meta:
        ordering = ["scope__server__name", "scope__first_int", "first_int"]
        indexes = [
            models.Index(fields=["scope", "first_int"], name="pool_scope_numeric"),
            models.Index(fields=["first_int", "last_int"], name="pool_numeric"),
        ]
        verbose_name = "address pool"
        constraints = [
            models.CheckConstraint(
                condition=Q(dynamic_bootp=False) | Q(failover_peer__isnull=True),
                name="pool_no_dynamic_bootp_with_peer",
                violation_error_message="A 'range dynamic-bootp' cannot be in a failover pool.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_address}-{self.last_address}"

    @property
    def first_ip(self) -> ipaddress.IPv4Address:
        return ipv4_address(self.first_address)

    @property
    def last_ip(self) -> ipaddress.IPv4Address:
        return ipv4_address(self.last_address)

    @property
    def size(self) -> int:
        if self.first_int is not None and self.last_int is not None:  # set with the addresses
            return self.last_int - self.first_int + 1
        return int(self.last_ip) - int(self.first_ip) + 1

    def contains(self, ip: ipaddress.IPv4Address) -> bool:
        return self.first_ip <= ip <= self.last_ip

    def fits_in(self, net: ipaddress.IPv4Network) -> bool:
        usable = (net.network_address + 1, net.broadcast_address - 1)
        return usable[0] <= self.first_ip and self.last_ip <= usable[1]

    def own_errors(self) -> dict[str, list[str]]:
        """The rules of this pool alone (no query once scope, peer and group are loaded):
        inside its scope, off the network and broadcast addresses, first <= last, a peer of
        the same server, no dynamic BOOTP with a peer, a shared network that holds its scope.
        """
        scope = related(self, "scope")
        if not (self.first_address and self.last_address and scope is not None):
            return {}
        try:
            first, last = ipv4_int(self.first_address), ipv4_int(self.last_address)
        except ValueError:
            return {}  # not an IPv4 address: already reported by the field's own validation
        errors: dict[str, list[str]] = {}
        low, high = scope.interval
        for field, value in (("first_address", first), ("last_address", last)):
            if low < value < high:
                continue
            ip = ipaddress.IPv4Address(value)
            if not low <= value <= high:
                message = f"{ip} is outside the scope {scope.ip_network}."
            elif value == low:
                message = f"{ip} is the network address of {scope.ip_network}."
            else:
                message = f"{ip} is the broadcast address of {scope.ip_network}."
            errors.setdefault(field, []).append(message)
        if not errors and first > last:
            errors["last_address"] = ["The last address must not be lower than the first."]
        peer = related(self, "failover_peer")
        if peer is not None and peer.server_id != scope.server_id:
            errors["failover_peer"] = ["The failover peer must be a peer of the same server."]
        if peer is not None and self.dynamic_bootp:
            errors.setdefault("failover_peer", []).append(
                "A 'range dynamic-bootp' cannot be in a failover pool (the failover protocol "
                "does not support dynamic BOOTP)."
            )
        group = related(self, "group")
        if group is not None:
            if self.bare:
                errors.setdefault("group", []).append(
                    "A bare range belongs to its subnet, not to a shared network."
                )
            elif not _holds(group, scope):
                errors.setdefault("group", []).append(
                    f"The pool is declared in {group}, which does not hold scope {scope.network}."
                )
        return errors

    def clean(self) -> None:
        errors = self.own_errors()
        if "first_address" in errors or "last_address" in errors:
            raise ValidationError(errors)
        first: ipaddress.IPv4Address | None
        last: ipaddress.IPv4Address | None
        try:
            first, last = self.first_ip, self.last_ip
        except (ValueError, TypeError):
            first = last = None
        if first is None or last is None or not self.scope_id:
            if errors:
                raise ValidationError(errors)
            return
        others = list(AddressPool.objects.filter(scope_id=self.scope_id).exclude(pk=self.pk))
        pairs = find_overlaps(
            [(int(first), int(last), self)] + [(int(o.first_ip), int(o.last_ip), o) for o in others]
        )
        overlapping = sorted(_overlapping(self, pairs), key=lambda o: others.index(o))
        for other in overlapping:
            errors.setdefault("first_address", []).append(pool_overlap_message(self, other))
        if errors:
            raise ValidationError(errors)


class ChangeRecord(models.Model):
    """What a domain operation changed, by whom: written by failover.services only."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(max_length=64)
    summary = models.TextField()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.action}: {self.summary}"


from failover.deploy.models import *  # noqa: E402,F401,F403
from failover.deploy.rollout_models import *  # noqa: E402,F401,F403
from failover.kea.models import KeaSettings  # noqa: E402,F401
from failover.live.models import Alert, PeerState, StateChange  # noqa: E402,F401
from failover.schedule_models import ScheduleEntry  # noqa: E402,F401
