"""No value a user can enter changes the structure of a rendered dhcpd.conf.

Hypothesis puts hostile values (quotes, backslashes, ``;``, braces, ``#``, newlines, NUL,
very long strings, arbitrary unicode) into every text field. Each value is either refused by
validation (``full_clean`` through the services) or rendered so that the real ``dhcpd -t``
accepts the file and the file declares exactly the model's peers, subnets and pools.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.render import render_server
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope
from failover.validators import split_list
from tests.conftest import PRIMARY, require_binary

pytestmark = [pytest.mark.django_db, pytest.mark.dhcpd]

NASTY = [
    '"',
    "\\",
    ";",
    "{",
    "}",
    "#",
    "\n",
    "\x00",
    "\r\n",
    '"; } subnet 10.66.0.0 netmask 255.255.255.0 { pool { range 10.66.0.1 10.66.0.9; } } #',
    '\\"; }\nfailover peer "evil" {',
    "# } {",
    "x" * 2000,
    "a." * 130,
    "10.10.0.1; option routers 10.66.0.1",
    "10.10.0.1,10.10.0.2",
    "host.example",
    "é\u2028ü",
    "",
    " ",
]
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet='"\\;{}#\n\r\x00 .-_,aZ09', max_size=80),
    st.text(max_size=40),
)
HBA = ":".join(["0f"] * 32)
# None keeps the field's ordinary value, so every example still renders something.
FIELDS = {
    "server_name": "dhcp-a",
    "server_address": "192.0.2.1",
    "server_description": "",
    "scope_name": "Office",
    "scope_domain_name": "office.example",
    "scope_routers": "10.10.0.1",
    "scope_domain_name_servers": "10.10.0.53",
    "peer_name": "fo-pair",
    "peer_address": "192.0.2.1",
    "peer_peer_address": "192.0.2.2",
    "peer_hba": HBA,
}
VALUES = st.fixed_dictionaries({name: st.one_of(st.none(), HOSTILE) for name in FIELDS})


def structure(text: str) -> str:
    """The text with every string replaced by S and every comment removed."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if ch == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append("S")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def counts(text: str) -> dict[str, int]:
    bare = structure(text)
    assert bare.count("{") == bare.count("}")
    return {
        "peers": len(re.findall(r"(?m)^failover peer S \{$", bare)),
        "peer_refs": len(re.findall(r"(?m)^    failover peer S;$", bare)),
        "subnets": len(re.findall(r"(?m)^subnet [0-9.]+ netmask [0-9.]+ \{$", bare)),
        "pools": len(re.findall(r"(?m)^  pool \{$", bare)),
        "statements": bare.count(";"),
    }


def accepted(label: str, instance_for, safe: dict, hostile: dict) -> dict:
    """Safe values, with each hostile value that validation accepts on its own put in."""
    values = dict(safe)
    for key, value in hostile.items():
        if value == safe[key]:
            continue
        try:
            instance_for(dict(values, **{key: value})).full_clean()
        except ValidationError:
            event(f"refused: {label} {key}")
            continue
        event(f"accepted: {label} {key}")
        values[key] = value
    return values


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=VALUES)
@example(values={name: NASTY[9] for name in FIELDS})
@example(values={name: "\\" for name in FIELDS})
@example(values=dict.fromkeys(FIELDS) | {"scope_name": NASTY[9], "server_description": NASTY[10]})
@example(values=dict.fromkeys(FIELDS) | {"server_description": ("x" * 5000 + '"{') * 3})
@example(
    values={
        "server_name": "A.b-c_9",
        "server_address": "dhcp-a.example",
        "server_description": '"; }\n#{\\',
        "scope_name": '\\"; } #',
        "scope_domain_name": "office.example.",
        "scope_routers": "10.10.0.1;10.10.0.2",
        "scope_domain_name_servers": " 10.10.0.53 , 10.10.0.54 ",
        "peer_name": "A.b-c_9",
        "peer_address": "dhcp-a.example",
        "peer_peer_address": "dhcp-b.example",
        "peer_hba": HBA.upper(),
    }
)
def test_hostile_values_are_refused_or_rendered_harmlessly(db, values):
    dhcpd = require_binary("dhcpd")
    pick = {name: FIELDS[name] if value is None else value for name, value in values.items()}
    with transaction.atomic():
        server = services.server_create(
            **accepted(
                "server",
                lambda f: DhcpServer(**f),
                dict(name="dhcp-a", address="192.0.2.1", description=""),
                dict(
                    name=pick["server_name"],
                    address=pick["server_address"],
                    description=pick["server_description"],
                ),
            )
        )
        scope = services.scope_create(
            server=server,
            network="10.10.0.0/24",
            **accepted(
                "scope",
                lambda f: Scope(server=server, network="10.10.0.0/24", **f),
                dict(name="Office", domain_name="", routers="", domain_name_servers=""),
                dict(
                    name=pick["scope_name"],
                    domain_name=pick["scope_domain_name"],
                    routers=pick["scope_routers"],
                    domain_name_servers=pick["scope_domain_name_servers"],
                ),
            ),
        )
        other = services.scope_create(server=server, network="10.20.0.0/24", name="Plain")
        services.pool_create(scope=scope, first_address="10.10.0.100", last_address="10.10.0.150")
        services.pool_create(scope=other, first_address="10.20.0.10", last_address="10.20.0.20")
        peer_hostile = dict(
            name=pick["peer_name"],
            address=pick["peer_address"],
            peer_address=pick["peer_peer_address"],
            hba=pick["peer_hba"],
        )
        peer_fields = accepted(
            "peer",
            lambda f: FailoverPeer(server=server, **dict(PRIMARY, **f, split=None)),
            dict(name="fo-pair", address="192.0.2.1", peer_address="192.0.2.2", hba=HBA),
            peer_hostile,
        )
        peer = services.peer_create(server=server, **dict(PRIMARY, **peer_fields, split=None)).peer
        services.pool_create(scope=other, first_address="10.20.0.30", last_address="10.20.0.40")

        text = render_server(server)
        result = check_config(text, dhcpd_path=dhcpd)
        assert result.ok, f"dhcpd -t rejected:\n{result.output}\n---\n{text}"
        found = counts(text)
        assert found["peers"] == FailoverPeer.objects.filter(server=server).count() == 1
        assert found["subnets"] == server.scopes.count() == 2
        assert found["pools"] == AddressPool.objects.for_server(server).count() == 3
        assert found["peer_refs"] == 2  # the first-peer rule gave the peer both older pools
        # Only the model's statements: 2 global, 10 in the peer, the options, 3 ranges and 2
        # peer references.
        options = (
            bool(split_list(scope.routers))
            + bool(split_list(scope.domain_name_servers))
            + bool(scope.domain_name)
        )
        assert found["statements"] == 2 + 10 + options + 3 + 2
        assert peer.name in text and server.name in text
        transaction.set_rollback(True)
