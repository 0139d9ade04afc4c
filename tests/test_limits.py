"""Every integer dhcpadmin writes into dhcpd.conf stays within what dhcpd reads.

One limit per field (``failover.validators.LIMITS``), held by the model (validators), the
database (check constraints, also when ``clean`` is bypassed), the parser and the importer.
A value within is saved, rendered as it is stored, accepted by the real ``dhcpd -t`` and
imported back as the same value; a value beyond is refused by all three.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.parser import _ZERO_IS_DEFAULT
from failover.dhcpd.render import render_server
from failover.dhcpd.tokenizer import ParseError
from failover.models import DhcpServer, FailoverPeer, Scope
from failover.validators import INT_MAX, LIMITS
from tests.conftest import PRIMARY, require_binary

pytestmark = pytest.mark.django_db

# field -> (model, the statement's keyword in dhcpd.conf)
FIELDS: dict[str, tuple[type, str]] = {
    "omapi_port": (DhcpServer, "omapi-port"),
    "port": (FailoverPeer, "port"),
    "peer_port": (FailoverPeer, "peer port"),
    "max_response_delay": (FailoverPeer, "max-response-delay"),
    "max_unacked_updates": (FailoverPeer, "max-unacked-updates"),
    "mclt": (FailoverPeer, "mclt"),
    "split": (FailoverPeer, "split"),
    "load_balance_max_seconds": (FailoverPeer, "load balance max seconds"),
    "auto_partner_down": (FailoverPeer, "auto-partner-down"),
    "max_lease_misbalance": (FailoverPeer, "max-lease-misbalance"),
    "max_lease_ownership": (FailoverPeer, "max-lease-ownership"),
    "min_balance": (FailoverPeer, "min-balance"),
    "max_balance": (FailoverPeer, "max-balance"),
    "default_lease_time": (Scope, "default-lease-time"),
    "max_lease_time": (Scope, "max-lease-time"),
}


def test_every_number_field_has_one_limit():
    """Every integer field of the models that reaches dhcpd.conf is in LIMITS, and its
    validators say the same as LIMITS."""
    written = {
        f.name
        for model in (DhcpServer, FailoverPeer, Scope)
        for f in model._meta.concrete_fields
        if f.get_internal_type().endswith("IntegerField")
        and f.editable
        and not f.name.endswith("_int")
    }
    assert written == set(FIELDS) == set(LIMITS)
    for name, (model, _) in FIELDS.items():
        field = model._meta.get_field(name)
        bounds = {type(v).__name__: v.limit_value for v in field.validators}
        assert bounds["MinValueValidator"] == LIMITS[name].low, name
        assert bounds["MaxValueValidator"] == LIMITS[name].high, name
        assert LIMITS[name].high <= INT_MAX  # PostgreSQL's integer; dhcpd's atoi and MAX_TIME


def companions(name: str, value: int) -> dict[str, int | None]:
    """Other fields of the same object that the cross-field rules need next to ``value``
    (min <= max balance, ownership < misbalance, default <= max lease time)."""
    if name == "max_lease_ownership":
        return {"max_lease_misbalance": min(value + 1, 100)}
    if name == "max_lease_misbalance":
        return {"max_lease_ownership": max(value - 1, 1)}
    if name == "min_balance":
        return {"max_balance": max(value, 3600)}
    if name == "max_balance":
        return {"min_balance": min(value, 60)}
    if name == "default_lease_time":
        return {"max_lease_time": max(value, 7200)}
    if name == "max_lease_time":
        return {"default_lease_time": min(value, 600)}
    return {}


def instance(name: str, value: int):
    """An unsaved object that holds ``value`` in field ``name`` (and ordinary values else)."""
    model, _ = FIELDS[name]
    fields = {name: value, **companions(name, value)}
    if model is DhcpServer:
        return DhcpServer(name="dhcp-a", address="192.0.2.1", **fields)
    server = DhcpServer.objects.get_or_create(name="dhcp-x", address="192.0.2.9")[0]
    if model is Scope:
        return Scope(server=server, network="10.10.0.0/24", **fields)
    return FailoverPeer(server=server, name="fo", **{**PRIMARY, **fields})


def build(name: str, value: int) -> DhcpServer:
    """A server that writes ``value`` into its dhcpd.conf, made with the services."""
    model, _ = FIELDS[name]
    fields = {name: value, **companions(name, value)}
    server = services.server_create(
        name="dhcp-a", address="192.0.2.1", **(fields if model is DhcpServer else {})
    )
    scope = services.scope_create(
        server=server, network="10.10.0.0/24", **(fields if model is Scope else {})
    )
    services.pool_create(scope=scope, first_address="10.10.0.10", last_address="10.10.0.20")
    # The first peer takes the server's pools (dhcpd refuses a peer no pool refers to).
    services.peer_create(
        server=server, name="fo", **{**PRIMARY, **(fields if model is FailoverPeer else {})}
    )
    return server


def rendered_value(text: str, keyword: str) -> int:
    found = re.findall(rf"(?m)^\s*{re.escape(keyword)} ([0-9]+);$", text)
    assert len(found) == 1, (keyword, found)
    return int(found[0])


def beyond(name: str) -> list[int]:
    limit = LIMITS[name]
    values = {limit.low - 1, limit.high + 1, 2**31, 2**32, 2**32 + limit.low, 2**32 + 128}
    return sorted(v for v in values if not limit.low <= v <= limit.high)


def ordinary(name: str) -> int:
    return (LIMITS[name].low + LIMITS[name].high) // 2


def within(name: str) -> list[int]:
    return sorted({LIMITS[name].low, LIMITS[name].high, ordinary(name)})


# --- within the limits ---------------------------------------------------------------------


def assert_within(name: str, value: int, dhcpd: str) -> None:
    model, keyword = FIELDS[name]
    obj = instance(name, value)
    obj.clean_fields()  # the field takes it
    if (
        name == "max_lease_ownership"
        and value == 100
        or name == "max_lease_misbalance"
        and (value == 1)
    ):
        # ownership must stay below misbalance, both at most 100: a cross-field rule.
        with pytest.raises(ValidationError, match="lower than the max lease misbalance"):
            obj.full_clean()
        return
    with transaction.atomic():
        server = build(name, value)
        stored = getattr(model.objects.get(**_owner(model, server)), name)
        assert stored == value
        text = render_server(server)
        assert rendered_value(text, keyword) == stored
        result = check_config(text, dhcpd_path=dhcpd)
        assert result.ok, f"dhcpd -t refused {name}={value}:\n{result.output}\n---\n{text}"
        # Imported back, the same value lands in the same field.
        plan = services.config_import_plan(
            server=DhcpServer(name="dhcp-b", address="192.0.2.1"), text=text
        )
        assert getattr(_planned(plan, model), name) == value
        transaction.set_rollback(True)


def _owner(model: type, server: DhcpServer) -> dict:
    return {"pk": server.pk} if model is DhcpServer else {"server": server}


def _planned(plan, model: type):
    if model is DhcpServer:
        return plan.server
    if model is Scope:
        (scope,) = plan.scopes_create
        return scope
    (peer,) = plan.peers_create
    return peer


@pytest.mark.dhcpd
@pytest.mark.parametrize(
    "name, value", [(name, value) for name in FIELDS for value in within(name)]
)
def test_values_at_the_limits_are_saved_rendered_and_accepted_by_dhcpd(name, value):
    assert_within(name, value, require_binary("dhcpd"))


# --- beyond the limits ---------------------------------------------------------------------


def assert_beyond(name: str, value: int) -> None:
    model, keyword = FIELDS[name]
    # The model.
    obj = instance(name, value)
    with pytest.raises(ValidationError) as refused:
        obj.full_clean()
    assert name in refused.value.message_dict, refused.value.message_dict
    # The database, with clean bypassed: a stored valid object updated in place.
    with transaction.atomic():
        server = build(name, ordinary(name))
        rows = model.objects.filter(**_owner(model, server))
        with pytest.raises((IntegrityError, DataError)), transaction.atomic():
            rows.update(**{name: value})
        assert getattr(rows.get(), name) == ordinary(name)
        transaction.set_rollback(True)
    # The importer: refused at the statement's line, or (a lease time, an omapi-port that
    # dhcpd reads as written) kept verbatim, never in the field.
    text, line = import_text(name, value)
    try:
        plan = services.config_import_plan(
            server=DhcpServer(name="dhcp-b", address="192.0.2.1"), text=text
        )
    except ParseError as exc:
        if name == "mclt" and value == 0:  # dhcpd reads mclt 0 as none: a primary without
            assert "a primary needs 'mclt'" in str(exc), str(exc)
            return
        assert exc.line == line, (str(exc), line)
        assert value < 0 or str(value) in str(exc), str(exc)
        return
    if value == 0 and name in _ZERO_IS_DEFAULT:  # dhcpd reads 0 as its default: imported so
        assert getattr(_planned(plan, model), name) == _ZERO_IS_DEFAULT[name]
        assert any(f", line {line}," in w and "reads 0 as its default" in w for w in plan.warnings)
        return
    assert name in ("default_lease_time", "max_lease_time", "omapi_port"), name
    # Kept verbatim only what dhcpd reads as written: not a value it wraps or refuses
    # (a negative one is read as 2**32 - n by dhcpd, the same way when written back).
    assert value < 2**32 and (name != "omapi_port" or value < 2**16), value
    assert getattr(_planned(plan, model), name) is None
    assert any(f"line {line}:" in note and "kept verbatim" in note for note in plan.notes)
    kept = [text for k in plan.kept for text in k.statements]
    assert f"{keyword} {value};" in kept


def import_text(name: str, value: int) -> tuple[str, int]:
    """A dhcpd.conf whose statement for ``name`` holds ``value``, and that statement's line."""
    _, keyword = FIELDS[name]
    peer = {
        "port": 647,
        "peer port": 647,
        "max-response-delay": 60,
        "max-unacked-updates": 10,
        "mclt": 3600,
        "split": 128,
        "load balance max seconds": 3,
    }
    lines = ["authoritative;"]
    if name == "omapi_port":
        lines.append(f"omapi-port {value};")
    lines += [
        'failover peer "fo" {',
        "  primary;",
        "  address 192.0.2.1;",
        "  peer address 192.0.2.2;",
    ]
    peer[keyword] = value if FIELDS[name][0] is FailoverPeer else peer.get(keyword)
    lines += [f"  {k} {v};" for k, v in peer.items() if v is not None]
    lines += ["}", "subnet 10.10.0.0 netmask 255.255.255.0 {"]
    if FIELDS[name][0] is Scope:
        lines.append(f"  {keyword} {value};")
    lines += ['  pool { failover peer "fo"; range 10.10.0.10 10.10.0.20; }', "}"]
    wanted = f"{keyword} {value};"
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == wanted)
    return "\n".join(lines) + "\n", line


@pytest.mark.parametrize(
    "name, value", [(name, value) for name in FIELDS for value in beyond(name)]
)
def test_values_beyond_the_limits_are_refused_by_model_database_and_importer(name, value):
    assert_beyond(name, value)


# --- any value -----------------------------------------------------------------------------


@st.composite
def field_and_value(draw) -> tuple[str, int]:
    name = draw(st.sampled_from(sorted(FIELDS)))
    limit = LIMITS[name]
    value = draw(
        st.one_of(
            st.integers(limit.low, limit.high),
            st.sampled_from(within(name) + beyond(name)),
            st.integers(limit.high + 1, 2**63 - 1),
            st.integers(-(2**63), limit.low - 1),
        )
    )
    return name, value


@pytest.mark.dhcpd
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=field_and_value())
def test_any_value_is_either_within_and_accepted_or_refused_everywhere(db, case):
    name, value = case
    limit = LIMITS[name]
    if limit.low <= value <= limit.high:
        assert_within(name, value, require_binary("dhcpd"))
    else:
        assert_beyond(name, value)


# --- the migration that adds the limits ------------------------------------------------------


def _migrate(target: str):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("failover", target)])
    return MigrationExecutor(connection).loader.project_state([("failover", target)]).apps


def _migrate_to_latest() -> None:
    """Back to the newest migrations, so the tests after this one find every column."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_what_dhcpd_used_and_stops_on_what_it_cannot_keep():
    apps = _migrate("0005_numeric_order")
    try:
        Server = apps.get_model("failover", "DhcpServer")
        Peer = apps.get_model("failover", "FailoverPeer")
        server = Server.objects.create(name="dhcp-a", address="192.0.2.1")
        base = {**PRIMARY, "server_id": server.pk}
        # 0 is dhcpd's default in these statements: stored as what dhcpd used.
        Peer.objects.create(
            name="zeros",
            **{**base, "max_response_delay": 0, "max_unacked_updates": 0},
            max_lease_misbalance=0,
            max_lease_ownership=0,
            min_balance=0,
            max_balance=0,
        )
        _migrate("0007_number_limits")
        # (fields added by later migrations are not there yet)
        zeros = FailoverPeer.objects.defer("comments").get(name="zeros")
        assert (zeros.max_response_delay, zeros.max_unacked_updates) == (60, 10)
        assert (zeros.max_lease_misbalance, zeros.max_lease_ownership) == (None, None)
        assert (zeros.min_balance, zeros.max_balance) == (None, None)
        zeros.full_clean(exclude=["comments"])
        # mclt 0 on a primary: dhcpd refuses the file; the migration names the row.
        apps = _migrate("0005_numeric_order")
        Peer = apps.get_model("failover", "FailoverPeer")
        Peer.objects.create(name="broken", **{**base, "mclt": 0})
        with pytest.raises(RuntimeError, match=r"failover peer 'broken' \(id \d+\): mclt = 0"):
            _migrate("0007_number_limits")
        assert Peer.objects.get(name="broken").mclt == 0  # nothing changed
        Peer.objects.filter(name="broken").delete()
    finally:
        _migrate("0007_number_limits")
        _migrate_to_latest()
