"""Property tests for the import: render -> parse -> import -> render is byte-identical.

1. Models built the way users build them (services): the rendered file, imported into the
   same server, renders the same bytes, keeps the model as it was, and importing it once
   more changes nothing.
2. Generated dhcpd.conf files with what only imports bring (shared-networks with their
   failover peer, groups of subnets, pools with several ranges, bare and dynamic-bootp
   ranges, ``no failover peer``, hosts and other kept statements): the real ``dhcpd -t``
   accepts the rendered import, which declares the same things as the file, and
   render -> parse -> import -> render gives the same bytes.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.importer import desired_state
from failover.dhcpd.parser import parse_text
from failover.dhcpd.render import render_server
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope
from tests.conftest import require_binary

pytestmark = pytest.mark.django_db

HBA = ":".join(["ff"] * 16 + ["00"] * 16)
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Rollback(Exception):
    pass


def isolated(check):
    """Run ``check`` in a transaction that is always rolled back (one example each)."""
    try:
        with transaction.atomic():
            check()
            raise Rollback
    except Rollback:
        pass


def model(server: DhcpServer) -> dict:
    """What users see of a server: peers, scopes with their options, pools and their peers."""
    peer_fields = [
        f.name
        for f in FailoverPeer._meta.concrete_fields
        if f.name not in {"id", "server", "statements"}
    ]
    return {
        "server": (server.name, server.address, server.omapi_port),
        "peers": sorted(
            tuple(getattr(p, f) for f in peer_fields) for p in server.failover_peers.all()
        ),
        "scopes": sorted(
            Scope.objects.filter(server=server).values_list(
                "network",
                "name",
                "routers",
                "domain_name_servers",
                "domain_name",
                "default_lease_time",
                "max_lease_time",
            )
        ),
        "pools": sorted(
            AddressPool.objects.filter(scope__server=server).values_list(
                "scope__network", "first_address", "last_address", "failover_peer__name"
            ),
            key=str,
        ),
    }


# --- 1. models built with the services ------------------------------------------------------

peer_spec = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["primary", "secondary"]),
        "port": st.integers(1, 65535),
        "peer_port": st.integers(1, 65535),
        "max_response_delay": st.integers(1, 600),
        "max_unacked_updates": st.integers(1, 100),
        "mclt": st.integers(1, 7200),  # 0: dhcpd refuses a primary without mclt
        "hba": st.booleans(),
        "split": st.integers(0, 256),
        "load_balance_max_seconds": st.none() | st.integers(0, 10),
        "auto_partner_down": st.none() | st.integers(0, 3600),
        "min_balance": st.none() | st.integers(1, 60),  # 0 is dhcpd's default
        "max_balance": st.none() | st.integers(3600, 7200),
    }
)
scope_spec = st.fixed_dictionaries(
    {
        "routers": st.lists(st.integers(1, 9), max_size=2, unique=True),
        "dns": st.lists(st.integers(1, 9), max_size=3, unique=True),
        "domain_name": st.sampled_from(["", "example.com", "a-b.example.org", "x.y.z"]),
        "lease": st.none() | st.tuples(st.integers(60, 600), st.integers(600, 86400)),
        "name": st.sampled_from(["", "Office", "Lab # 2", 'Quote "q"']),
        "pools": st.lists(st.integers(0, 3), max_size=3),  # peer index, or none
    }
)


@pytest.mark.dhcpd
@PROPERTY
@given(
    peers=st.lists(peer_spec, min_size=0, max_size=3),
    scopes=st.lists(scope_spec, min_size=1, max_size=4),
    omapi=st.none() | st.integers(1, 65535),
)
def test_a_server_made_here_survives_render_parse_import_render(db, peers, scopes, omapi):
    def check():
        server = services.server_create(name="gen", address="192.0.2.1", omapi_port=omapi)
        made = []
        for i, spec in enumerate(peers):
            fields = dict(spec, address="192.0.2.1", peer_address=f"192.0.2.{10 + i}")
            use_hba = fields.pop("hba")
            if fields["role"] == "secondary":
                fields.update(mclt=None, split=None, hba="")
            elif use_hba:
                fields.update(split=None, hba=HBA)
            made.append(services.peer_create(server=server, name=f"peer-{i}", **fields).peer)
        used = set()
        for n, spec in enumerate(scopes):
            net = f"10.{n}.{n * 7 % 250}"
            default, maximum = spec["lease"] or (None, None)
            scope = services.scope_create(
                server=server,
                network=f"{net}.0/24",
                name=spec["name"],
                routers=", ".join(f"{net}.{r}" for r in spec["routers"]),
                domain_name_servers=", ".join(f"{net}.{d}" for d in spec["dns"]),
                domain_name=spec["domain_name"],
                default_lease_time=default,
                max_lease_time=maximum,
            )
            for k, choice in enumerate(spec["pools"]):
                peer = made[choice] if choice < len(made) else None
                used.add(peer.pk if peer else None)
                services.pool_create(
                    scope=scope,
                    first_address=f"{net}.{20 + 20 * k}",
                    last_address=f"{net}.{30 + 20 * k}",
                    failover_peer=peer,
                )
        for peer in made:  # a peer no pool refers to is not in the file (dhcpd refuses it)
            if peer.pk not in used:
                services.pool_create(
                    scope=Scope.objects.filter(server=server).first(),
                    first_address=f"10.0.0.{100 + made.index(peer)}",
                    last_address=f"10.0.0.{100 + made.index(peer)}",
                    failover_peer=peer,
                )
        server.refresh_from_db()
        before = model(server)
        first = render_server(server)
        plan = services.config_import(server=server, text=first, filename="gen.conf")
        assert not plan.created and not plan.deleted, plan.changes
        assert render_server(server) == first
        assert model(server) == before
        assert services.config_import_plan(server=server, text=first).is_empty

    isolated(check)


# --- 2. generated files with everything an import may hold ----------------------------------

PEER_TEXT = (
    'failover peer "{name}" {{\n  {role};\n  address 192.0.2.1;\n  peer address 192.0.2.{n};\n'
    "  max-response-delay 60;\n  max-unacked-updates 10;\n{extra}}}\n"
)
KEPT = [
    "authoritative;",
    "ddns-update-style none;",
    'option domain-name "kept.example";',
    "log-facility local7;",
    "one-lease-per-client on;",
    'if exists user-class { filename "a.efi"; } else { filename "b.efi"; }',
]
IN_SUBNET = [
    "option broadcast-address {net}.255;",
    "next-server {net}.5;",
    'filename "pxelinux.0";',
    "host h{uid} {{ hardware ethernet 00:16:3e:00:{hi:02x}:{lo:02x}; "
    "fixed-address {net}.{host}; }}",
    'if option host-name = "x" {{ option domain-name "x.example"; }}',
]
# Not a lone "allow all clients;" / "deny dynamic bootp clients;": dhcpd would put a range
# written outside the pools into such a pool (tested in test_import.py).
IN_POOL = ["allow unknown-clients;", "deny known-clients;", 'deny members of "c";']


@st.composite
def configs(draw):
    """A dhcpd.conf that dhcpd accepts and the model holds, with its peers all referenced."""
    uid = iter(range(1, 10_000))
    peers = draw(st.lists(st.sampled_from(["pa", "pb", "pc"]), max_size=2, unique=True))
    roles = {name: draw(st.sampled_from(["primary", "secondary"])) for name in peers}
    nets = iter(range(1, 200))
    referenced: set[str] = set()
    declared_in_shared = draw(st.booleans()) and bool(peers)

    def peer_text(name: str) -> str:
        extra = "  mclt 3600;\n  split 128;\n" if roles[name] == "primary" else ""
        if draw(st.booleans()):
            extra += "  load balance max seconds 3;\n"
        if draw(st.booleans()):
            extra += "  peer max-response-delay 30;\n"
        return PEER_TEXT.format(name=name, role=roles[name], n=10 + peers.index(name), extra=extra)

    def pool(net: str, slot: list[int], inherited: str | None, peers_seen: list) -> str:
        ranges = []
        for _ in range(draw(st.integers(1, 2))):
            low = slot[0]
            slot[0] += 10
            ranges.append(f"range {net}.{low} {net}.{low + 5};")
        choice = draw(st.sampled_from(["named", "none", "no", "inherit"]))
        body = []
        peer = None
        if choice == "named" and peers:
            peer = draw(st.sampled_from(peers))
            body.append(f'failover peer "{peer}";')
        elif choice == "no":
            body.append("no failover peer")
        elif choice == "inherit":
            peer = inherited
        peers_seen.append(peer)
        if peer is not None:
            if choice == "named":  # dhcpd counts only pools that name their peer
                referenced.add(peer)
        elif draw(st.booleans()):
            low = slot[0]
            slot[0] += 10
            ranges.append(f"range dynamic-bootp {net}.{low} {net}.{low + 3};")
            if choice != "no" and inherited is not None:
                body.append("no failover peer")
        body += draw(st.lists(st.sampled_from(IN_POOL), max_size=1))
        return "pool {\n" + "".join(f"  {line}\n" for line in body + ranges) + "}\n"

    def subnet(inherited: str | None, shared_peers: list | None = None) -> tuple[str, str]:
        n = next(nets)
        net = f"10.{n}.0"
        slot = [10]
        body = []
        if draw(st.booleans()):
            body.append(f"option routers {net}.1;")
        if draw(st.booleans()):
            body.append(f"option domain-name-servers {net}.2, {net}.3;")
        if draw(st.booleans()):
            body.append('option domain-name "sub.example";')
        if draw(st.booleans()):
            body.append("default-lease-time 600;")
        for template in draw(st.lists(st.sampled_from(IN_SUBNET), max_size=2)):
            u = next(uid)
            body.append(template.format(net=net, uid=u, hi=u // 256, lo=u % 256, host=200 + u % 50))
        peers_seen = shared_peers if shared_peers is not None else []
        for _ in range(draw(st.integers(0, 2))):
            body.append(pool(net, slot, inherited, peers_seen))
        # A range outside any pool may land in an earlier pool of the shared network (see
        # the importer): only where no pool there has a peer (tested in test_import.py).
        if not any(peers_seen) and inherited is None and draw(st.booleans()):
            low = slot[0]
            slot[0] += 10
            bootp = "dynamic-bootp " if draw(st.booleans()) else ""
            body.append(f"range {bootp}{net}.{low} {net}.{low + 2};")
        text = f"subnet {net}.0 netmask 255.255.255.0 {{\n" + "".join(
            f"  {line}\n" for stmt in body for line in stmt.rstrip("\n").split("\n")
        )
        return text + "}\n", net

    def shared(index: int) -> str:
        body = []
        inherited = None
        if draw(st.booleans()):
            body.append('option domain-name "shared.example";')
        if declared_in_shared and index == 0:
            for name in peers:
                body.append(peer_text(name))
            inherited = peers[-1]
        elif peers and draw(st.booleans()):
            inherited = draw(st.sampled_from(peers))
            body.append(f'failover peer "{inherited}";')
        nets_here = []
        peers_seen: list = []
        for _ in range(draw(st.integers(1, 2))):
            text, net = subnet(inherited, peers_seen)
            body.append(text)
            nets_here.append(net)
        if draw(st.booleans()):
            slot = [150]
            body.append(pool(nets_here[0], slot, inherited, peers_seen))
        name = f'"net {index}"' if draw(st.booleans()) else f"net{index}"
        return (
            f"shared-network {name} {{\n"
            + "".join(f"  {line}\n" for stmt in body for line in stmt.rstrip("\n").split("\n"))
            + "}\n"
        )

    parts = ['class "c" { match hardware; }']
    parts += draw(st.lists(st.sampled_from(KEPT), max_size=3, unique=True))
    if not declared_in_shared:
        parts += [peer_text(name) for name in peers]
    kinds = draw(
        st.lists(st.sampled_from(["subnet", "shared", "group", "kept"]), min_size=1, max_size=4)
    )
    if declared_in_shared:
        kinds = ["shared", *kinds]
    shared_count = 0
    for kind in kinds:
        if kind == "subnet":
            parts.append(subnet(None)[0])
        elif kind == "shared":
            parts.append(shared(shared_count))
            shared_count += 1
        elif kind == "group":
            inner = subnet(None)[0]
            parts.append(
                "group {\n  default-lease-time 300;\n"
                + "".join(f"  {line}\n" for line in inner.rstrip("\n").split("\n"))
                + "}\n"
            )
        else:
            u = next(uid)
            parts.append(f"host top{u} {{ hardware ethernet 00:16:3e:01:00:{u % 256:02x}; }}")
    # dhcpd refuses a peer no pool names: name each one in a pool of its own subnet.
    for name in peers:
        if name not in referenced:
            n = next(nets)
            parts.append(
                f"subnet 10.{n}.0.0 netmask 255.255.255.0 {{\n"
                f'  pool {{ failover peer "{name}"; range 10.{n}.0.10 10.{n}.0.20; }}\n}}\n'
            )
    return "\n".join(parts) + "\n"


@pytest.mark.dhcpd
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=configs())
def test_a_generated_file_survives_import_render_parse_import_render(db, text):
    dhcpd = require_binary("dhcpd")
    original = check_config(text, dhcpd_path=dhcpd)
    assert original.ok, f"the generator wrote a file dhcpd refuses:\n{original.output}\n{text}"

    def check():
        server = services.server_create(name="gen", address="192.0.2.1")
        services.config_import(server=server, text=text, filename="gen.conf")
        first = render_server(server)
        result = check_config(first, dhcpd_path=dhcpd)
        assert result.ok, f"{result.output}\n--- imported from:\n{text}\n--- rendered:\n{first}"
        assert desired_state(parse_text(first)) == desired_state(parse_text(text))
        plan = services.config_import(server=server, text=first, filename="rendered.conf")
        assert plan.is_empty, plan.changes
        assert render_server(server) == first

    isolated(check)
