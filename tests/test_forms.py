"""The forms of the web UI: labels in the seed's words, the pool dialog's peer choices, and
the peer dialog's role-conditional fields."""

from __future__ import annotations

import pytest

from failover import services
from failover.forms import (
    NEW_PEER,
    NEW_PEER_LABEL,
    FailoverPeerForm,
    PeerReplacementForm,
    PoolForm,
    ScopeForm,
    ServerForm,
    instance_values,
)
from failover.models import FailoverPeer, Scope
from tests.conftest import PRIMARY, SECONDARY


def post(values: dict) -> dict[str, str]:
    """Form data as a browser sends it: None is an empty field."""
    return {key: "" if value is None else str(value) for key, value in values.items()}


@pytest.fixture
def other_server(db):
    return services.server_create(name="dhcp-b", address="192.0.2.2")


# --- labels ---------------------------------------------------------------------------------


def test_it_labels_the_peer_fields_in_the_seeds_words(server):
    form = FailoverPeerForm(server=server)
    labels = [form[name].label for name in FailoverPeerForm.MAIN_FIELDS]
    assert labels == [
        "Name",
        "Role",
        "Address",
        "Port",
        "Peer Address",
        "Peer Port",
        "Max Response Delay",
        "Max Unacked Updates",
        "Max Client Lead Time",
        "Split Index",
        "Load Balance Max Seconds",
    ]
    assert [f.name for f in form.advanced_fields()] == [
        "hba",
        "auto_partner_down",
        "max_lease_misbalance",
        "max_lease_ownership",
        "min_balance",
        "max_balance",
        "partner_server",
    ]


def test_it_labels_server_scope_and_pool_fields(scope):
    assert ServerForm()["name"].label == "Name"
    assert ServerForm()["address"].label == "Address"
    scope_form = ScopeForm(instance=Scope(server=scope.server))
    assert scope_form["network"].label == "Network"
    assert scope_form["name"].label == "Name"
    pool_form = PoolForm(scope=scope)
    assert [pool_form[n].label for n in ("first_address", "last_address", "failover_peer")] == [
        "First Address",
        "Last Address",
        "Failover Peer",
    ]


# --- the pool dialog's Failover Peer field --------------------------------------------------


def test_it_offers_no_peer_the_servers_peers_and_add_new(scope, primary_peer, other_server):
    services.peer_create(server=other_server, name="elsewhere", **PRIMARY)
    choices = PoolForm(scope=scope).fields["failover_peer"].choices
    assert choices[0][0] == ""
    assert (str(primary_peer.pk), "fo-pair") in choices
    assert choices[-1] == (NEW_PEER, "Add new failover peer")
    assert "elsewhere" not in [label for _, label in choices]


def test_it_leaves_out_add_new_when_not_allowed(scope):
    choices = PoolForm(scope=scope, allow_new_peer=False).fields["failover_peer"].choices
    assert NEW_PEER not in [value for value, _ in choices]


def test_it_rejects_a_peer_of_another_server(scope, other_server):
    foreign = services.peer_create(server=other_server, name="elsewhere", **PRIMARY).peer
    form = PoolForm(
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": foreign.pk},
        scope=scope,
    )
    assert not form.is_valid()
    assert "failover_peer" in form.errors


def test_it_marks_add_new_failover_peer_and_still_checks_the_addresses(scope):
    form = PoolForm(
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": NEW_PEER},
        scope=scope,
    )
    assert form.is_valid(), form.errors
    assert form.wants_new_peer
    assert form.cleaned_data["failover_peer"] is None
    assert NEW_PEER_LABEL == "Add new failover peer"

    bad = PoolForm(
        {"first_address": "10.10.0.0", "last_address": "10.10.0.20", "failover_peer": NEW_PEER},
        scope=scope,
    )
    assert not bad.is_valid()
    assert "network address" in bad.errors["first_address"][0]


def test_it_puts_pool_rule_errors_beside_the_fields(scope, pool):
    form = PoolForm({"first_address": "10.10.0.30", "last_address": "10.10.0.20"}, scope=scope)
    assert not form.is_valid()
    assert form.errors["last_address"] == ["The last address must not be lower than the first."]
    overlap = PoolForm({"first_address": "10.10.0.120", "last_address": "10.10.0.200"}, scope=scope)
    assert not overlap.is_valid()
    assert "Overlaps the pool" in overlap.errors["first_address"][0]


def test_it_shows_the_current_peer_when_editing(scope, primary_peer):
    pool = scope.pools.get()
    form = PoolForm(instance=pool, scope=scope, allow_new_peer=False)
    assert form.initial["failover_peer"] == str(primary_peer.pk)


# --- the peer dialog ------------------------------------------------------------------------


def test_it_accepts_a_primary(server):
    form = FailoverPeerForm(post(dict(PRIMARY, name="fo-pair")), server=server)
    assert form.is_valid(), form.errors
    values = instance_values(form)
    assert values["mclt"] == 3600 and values["split"] == 128


def test_it_accepts_a_secondary_whose_primary_fields_were_not_sent(server):
    # The page disables Max Client Lead Time, Split Index and hba for a secondary.
    data = post(dict(SECONDARY, name="fo-pair"))
    for name in ("mclt", "split", "hba"):
        data.pop(name, None)
    form = FailoverPeerForm(data, server=server)
    assert form.is_valid(), form.errors
    values = instance_values(form)
    assert values["mclt"] is None and values["split"] is None and values["hba"] == ""


def test_it_rejects_primary_fields_sent_for_a_secondary(server):
    data = post(dict(SECONDARY, name="fo-pair", mclt=3600))
    form = FailoverPeerForm(data, server=server)
    assert not form.is_valid()
    assert "only specified on the primary" in form.errors["mclt"][0]


def test_it_rejects_a_primary_without_split_or_hba(server):
    form = FailoverPeerForm(post(dict(PRIMARY, name="fo-pair", split=None)), server=server)
    assert not form.is_valid()
    assert "split" in form.errors


def test_it_rejects_a_duplicate_name_beside_the_name(server, primary_peer):
    form = FailoverPeerForm(post(dict(PRIMARY, name="fo-pair")), server=server)
    assert not form.is_valid()
    assert form.errors["name"] == ["This server already has a failover peer of this name."]


def test_it_allows_keeping_the_name_when_editing(server, primary_peer):
    form = FailoverPeerForm(
        post(dict(PRIMARY, name="fo-pair", port=648)), instance=primary_peer, server=server
    )
    assert form.is_valid(), form.errors


def test_it_offers_only_other_servers_as_partner(server, other_server):
    choices = list(FailoverPeerForm(server=server).fields["partner_server"].queryset)
    assert choices == [other_server]


def test_it_prefills_the_new_peer_with_defaults_and_the_server_address(server):
    form = FailoverPeerForm(server=server)
    assert form.initial["address"] == server.address
    assert form.initial["port"] == 647 and form.initial["max_unacked_updates"] == 10


# --- scope and replacement forms ------------------------------------------------------------


def test_it_reports_a_duplicate_network_beside_the_field(scope):
    form = ScopeForm({"network": "10.10.0.0/24"}, instance=Scope(server=scope.server))
    assert not form.is_valid()
    assert form.errors["network"] == ["This server already has a scope for this network."]


def test_it_reports_an_overlapping_network(scope):
    form = ScopeForm({"network": "10.10.0.0/16"}, instance=Scope(server=scope.server))
    assert not form.is_valid()
    assert "Overlaps scope" in form.errors["network"][0]


def test_it_requires_a_replacement_among_the_others(server, primary_peer):
    a = services.peer_create(server=server, name="a", **SECONDARY).peer
    b = services.peer_create(server=server, name="b", **SECONDARY).peer
    assert not PeerReplacementForm({}, others=[a, b]).is_valid()
    assert not PeerReplacementForm({"replacement": primary_peer.pk}, others=[a, b]).is_valid()
    form = PeerReplacementForm({"replacement": b.pk}, others=[a, b])
    assert form.is_valid()
    assert form.cleaned_data["replacement"] == b
    assert FailoverPeer.objects.count() == 3
