"""The forms of the web UI.

The rules live in the models (``clean()`` and constraints), which a ModelForm runs through
``full_clean()``; the forms add only what is about the dialog itself: the `Add new failover
peer` choice of the pool dialog, the role-conditional fields of the peer dialog, and errors
placed beside the field they concern.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms

from .live.secrets import OmapiKeyFormMixin
from .models import AddressPool, DhcpServer, FailoverPeer, Scope

NEW_PEER = "__new__"
NEW_PEER_LABEL = "Add new failover peer"
NO_PEER_LABEL = "No failover peer"


def instance_values(form: forms.ModelForm) -> dict[str, Any]:
    """The validated values of a ModelForm's fields, as the instance holds them.

    Read from the instance (not ``cleaned_data``) because a field left out of the POST keeps
    its model default there, which is what ``full_clean()`` checked.
    """
    return {name: getattr(form.instance, name) for name in form._meta.fields or ()}


#: The fields of a server that its dialog and the admin edit (the rest is the importer's).
SERVER_FORM_FIELDS = [
    "name",
    "address",
    "description",
    "omapi_port",
    "omapi_host",
    "omapi_key_name",
    "omapi_key_secret",
]


class ServerForm(OmapiKeyFormMixin, forms.ModelForm):
    """The OMAPI key secret is write-only (failover/live/secrets.py)."""

    class Meta:
        model = DhcpServer
        fields = SERVER_FORM_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._setup_secret_field()


class ScopeForm(forms.ModelForm):
    """Needs an instance whose server is set, so overlaps are checked against its scopes."""

    class Meta:
        model = Scope
        fields = ["network", "name", *Scope.OPTION_FIELDS]


class PoolForm(forms.ModelForm):
    """The `DHCP Address Pool` dialog.

    `Failover Peer` offers no peer, the peers of the scope's server and `Add new failover
    peer`; choosing the last sets ``wants_new_peer`` (and validates the pool as if it had no
    peer, so the addresses are checked before the peer dialog opens).
    """

    failover_peer = forms.ChoiceField(label="Failover Peer", required=False)

    class Meta:
        model = AddressPool
        fields = ["first_address", "last_address", "failover_peer"]

    def __init__(self, *args: Any, scope: Scope, allow_new_peer: bool = True, **kwargs: Any):
        kwargs.setdefault("instance", AddressPool(scope=scope))
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.wants_new_peer = False
        self.peers = {
            str(peer.pk): peer
            for peer in FailoverPeer.objects.filter(server_id=scope.server_id).order_by("name")
        }
        choices = [("", NO_PEER_LABEL)] + [(pk, peer.name) for pk, peer in self.peers.items()]
        field = cast(forms.ChoiceField, self.fields["failover_peer"])
        if allow_new_peer:
            choices.append((NEW_PEER, NEW_PEER_LABEL))
            field.help_text = f"To create a peer, choose “{NEW_PEER_LABEL}” and click OK."
        field.choices = choices
        if "failover_peer" not in (kwargs.get("initial") or {}):
            self.initial["failover_peer"] = str(self.instance.failover_peer_id or "")
        net = scope.ip_network
        examples = {
            "first_address": net.network_address + 1,
            "last_address": net.broadcast_address - 1,
        }
        for name, example in examples.items():
            self.fields[name].widget.attrs.update(
                {"placeholder": f"e.g. {example}", "spellcheck": "false"}
            )

    def clean_failover_peer(self) -> FailoverPeer | str | None:
        value = self.cleaned_data.get("failover_peer") or ""
        if value == NEW_PEER:
            return NEW_PEER
        return self.peers.get(value)

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())
        if cleaned.get("failover_peer") == NEW_PEER:
            self.wants_new_peer = True
            cleaned["failover_peer"] = None
        return cleaned


#: The peer dialog: the seed's fields, then the collapsed Advanced part.
PEER_MAIN_FIELDS = [
    "name",
    "role",
    "address",
    "port",
    "peer_address",
    "peer_port",
    "max_response_delay",
    "max_unacked_updates",
    "mclt",
    "split",
    "load_balance_max_seconds",
]
PEER_ADVANCED_FIELDS = [
    "hba",
    "auto_partner_down",
    "max_lease_misbalance",
    "max_lease_ownership",
    "min_balance",
    "max_balance",
    "partner_server",
]


class FailoverPeerForm(forms.ModelForm):
    """The `New Failover Peer` / properties dialog.

    The fields Max Client Lead Time, Split Index and hba are the primary's only: the page
    hides and disables them when Secondary is chosen (so they are not sent), and the model
    rejects them on a secondary if they are sent anyway.
    """

    MAIN_FIELDS = PEER_MAIN_FIELDS
    ADVANCED_FIELDS = PEER_ADVANCED_FIELDS
    PRIMARY_ONLY = FailoverPeer.PRIMARY_ONLY_FIELDS

    class Meta:
        model = FailoverPeer
        fields = [*PEER_MAIN_FIELDS, *PEER_ADVANCED_FIELDS]

    def __init__(self, *args: Any, server: DhcpServer, **kwargs: Any):
        if kwargs.get("instance") is None:
            kwargs["instance"] = FailoverPeer(server=server, address=server.address)
        super().__init__(*args, **kwargs)
        self.server = server
        self.fields["role"].widget.attrs["data-role-select"] = ""
        partner_field = cast(forms.ModelChoiceField, self.fields["partner_server"])
        partner_field.queryset = DhcpServer.objects.exclude(pk=server.pk)
        partner_field.empty_label = "Found from the peer address"
        self.fields["hba"].widget.attrs["spellcheck"] = "false"

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.MAIN_FIELDS]

    def advanced_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ADVANCED_FIELDS]

    def advanced_has_errors(self) -> bool:
        return any(self.errors.get(name) for name in self.ADVANCED_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())
        if cleaned.get("role") == FailoverPeer.Role.SECONDARY:
            for name in self.PRIMARY_ONLY:
                widget = self.fields[name].widget
                if widget.value_omitted_from_data(self.data, self.files, self.add_prefix(name)):
                    # Not sent (the page disables these for a secondary): not a value of the
                    # peer, so drop the primary's default instead of rejecting it.
                    empty = "" if name == "hba" else None
                    cleaned[name] = empty
                    setattr(self.instance, name, empty)
        return cleaned


class PeerReplacementForm(forms.Form):
    """Deleting a peer with two or more others left: which one the pools refer to instead."""

    replacement = forms.ModelChoiceField(
        label="Address pools should refer to",
        queryset=FailoverPeer.objects.none(),
        empty_label="Choose a failover peer…",
        error_messages={"required": "Choose which failover peer the pools should refer to."},
    )

    def __init__(self, *args: Any, others: list[FailoverPeer], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["replacement"])
        field.queryset = FailoverPeer.objects.filter(pk__in=[p.pk for p in others]).order_by("name")
