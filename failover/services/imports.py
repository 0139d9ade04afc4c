"""Import a dhcpd.conf into a server: :func:`config_import_plan` (a diff against what is
stored) and :func:`config_import` (applies it in one transaction, with bulk writes).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from ..models import AddressPool, DhcpServer, FailoverPeer, Scope
from ._base import Actor, ServerFields, _record, lock_servers
from .servers import server_create

# --- import a dhcpd.conf ------------------------------------------------------------------
#
# The import reproduces the FILE (failover.dhcpd.importer explains how each part is held):
# it is its own domain operation, so the first-peer and last-referrer rules of the pages do
# not apply. The plan is a diff against what is stored (created / changed / deleted / kept
# verbatim); applying it makes the stored model equal to the file, in one transaction, with
# bulk writes (a 10,000-subnet file is a few hundred queries, not tens of thousands).
# Everything is validated before the first write; a parse or validation error saves nothing
# and says where (file, line, column) and why.


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a file is parsed and imported.

    A 10,000-subnet file is a few hundred thousand objects that live until the import ends;
    every new object makes the collector walk them again (about a fifth of the time).
    Reference counting still frees what is dropped; collection resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class StaleImportPlan(Exception):
    """The stored data (or the text) changed since the preview: preview again."""

    def __init__(self, plan: Any) -> None:
        super().__init__("The stored data changed since the preview; check the new preview.")
        self.plan = plan


IMPORT_BATCH = 500


def config_import_plan(
    *,
    server: DhcpServer,
    text: str | None = None,
    tree: Any = None,
    filename: str = "<text>",
    include_root: str | None = None,
    max_bytes: int | None = None,
    created: bool = False,
    reuse: bool = False,
) -> Any:
    """What importing ``text`` (or an already parsed ``tree``) into ``server`` would do:
    a :class:`failover.dhcpd.importer.ImportPlan`. Changes nothing. ``server`` may be
    unsaved (everything is then created). Raises ``ParseError`` (a ``ConfigImportError``
    when the file parses but the model cannot hold it) with file, line and column.

    Includes are refused unless ``include_root`` is given. ``reuse`` (a preview, never
    the apply): the stored rows are read through the results kept under the data
    version (see :func:`failover.dhcpd.importer.plan_import`)."""
    from ..dhcpd.importer import plan_import
    from ..dhcpd.parser import DEFAULT_MAX_BYTES, parse_text

    with without_cycle_collection():
        if tree is None:
            if text is None:
                raise TypeError("config_import_plan needs text or tree")
            tree = parse_text(
                text,
                filename=filename,
                include_root=include_root,
                max_bytes=max_bytes or DEFAULT_MAX_BYTES,
            )
        return plan_import(
            server=server, config=tree, filename=filename, created=created, reuse=reuse
        )


def config_import(
    *,
    server: DhcpServer,
    text: str | None = None,
    tree: Any = None,
    filename: str = "<text>",
    include_root: str | None = None,
    max_bytes: int | None = None,
    expected_fingerprint: str | None = None,
    actor: Actor = None,
) -> Any:
    """Import a dhcpd.conf into ``server`` (created first if unsaved), in one transaction.

    With ``expected_fingerprint`` (the previewed plan's), the plan is computed again inside
    the transaction, with the server locked, and :class:`StaleImportPlan` is raised (nothing
    changed) if it differs from what was previewed."""
    original = server
    with without_cycle_collection(), transaction.atomic():
        created = server.pk is None
        if created:
            fields: ServerFields = {"name": server.name, "address": server.address}
            if server.description:
                fields["description"] = server.description
            server = server_create(actor=actor, **fields)
        lock_servers(server)
        plan = config_import_plan(
            server=server,
            text=text,
            tree=tree,
            filename=filename,
            include_root=include_root,
            max_bytes=max_bytes,
            created=created,
        )
        if expected_fingerprint is not None and plan.fingerprint != expected_fingerprint:
            raise StaleImportPlan(plan)
        _import_apply(plan)
        # The plan worked on its own copy of the server: bring the caller's up to date.
        for name in ("pk", "name", "address", "description", "omapi_port", "statements"):
            setattr(original, name, getattr(plan.server, name))
        original._state.adding, original._state.db = False, plan.server._state.db
        counts = plan.counts()
        _record(
            actor,
            "config_import",
            f"Imported {plan.filename} into {server}: {counts['created']} created, "
            f"{counts['changed']} changed, {counts['deleted']} deleted, "
            f"{counts['kept']} statement(s) kept verbatim",
        )
    return plan


_PEER_WRITE_FIELDS = (*FailoverPeer.STATEMENT_FIELDS, "statements")
_GROUP_WRITE_FIELDS = ("parent", "kind", "name", "quoted", "position", "statements")
_SCOPE_WRITE_FIELDS = (
    "group",
    "position",
    "routers",
    "domain_name_servers",
    "domain_name",
    "default_lease_time",
    "max_lease_time",
    "statements",
)
_POOL_WRITE_FIELDS = (
    "scope",
    "failover_peer",
    "group",
    "position",
    "bare",
    "dynamic_bootp",
    "peer_statement",
    "statements",
)


def _chunks(items: list, size: int = IMPORT_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Columns whose validated Python values (str, int, bool, None) the database drivers take as
# they are: get_db_prep_save would only convert them to the type they already have.
_PLAIN_COLUMNS = frozenset(
    {
        "CharField",
        "TextField",
        "IntegerField",
        "SmallIntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "BooleanField",
    }
)


def _insert(model: Any, objects: list, batch: int = 2000) -> None:
    """INSERT validated new rows in batches (a prepared statement run per row on SQLite,
    COPY on PostgreSQL).

    What bulk_create does, without its per-value SQL compilation, which is most of its
    time for 10,000 rows of a dozen columns. Values go through each field's
    ``get_db_prep_save``, so every database gets what the ORM would send; a foreign key
    takes the primary key of the object it was given (saved before). The caller sets the
    primary keys it needs afterwards."""
    if not objects:
        return
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    # SQLite runs a prepared statement per row fastest; PostgreSQL takes rows fastest by
    # COPY (psycopg 3 adapts the same values, JSON included).
    copy_sql = None
    if connection.vendor == "postgresql":
        copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
        )
    columns = []
    for f in fields:
        if f.is_relation:
            columns.append((f.attname, f.name, None))
        elif f.get_internal_type() in _PLAIN_COLUMNS:
            columns.append((f.attname, None, None))  # validated str/int/bool: sent as is
        else:
            columns.append((f.attname, None, f.get_db_prep_save))
    with connection.cursor() as cursor:
        for chunk in _chunks(objects, batch):
            rows = []
            for obj in chunk:
                values = obj.__dict__
                row = []
                for attname, relation, prep in columns:
                    if relation is not None:
                        related = obj._state.fields_cache.get(relation)
                        if related is not None:
                            if related.pk is None:
                                raise ValueError(f"{relation} of {obj!r} is not saved")
                            values[attname] = related.pk
                        row.append(values.get(attname))
                    elif prep is None:
                        row.append(values.get(attname))
                    else:
                        row.append(prep(values.get(attname), connection))
                rows.append(row)
            if copy_sql is not None:
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, rows)


def _import_apply(plan: Any) -> None:
    """Write a validated plan. Order: what others refer to is created first and deleted
    last (peers and groups around scopes, scopes around pools); new scopes are created
    before old ones go, so a range can move to a new scope."""
    from ..models import ScopeGroup

    server = plan.server
    if plan.server_fields:
        server.save(update_fields=plan.server_fields)
    for peer in plan.peers_create:
        peer.server = server
    FailoverPeer.objects.bulk_create(plan.peers_create, batch_size=IMPORT_BATCH)
    if plan.peers_update:
        FailoverPeer.objects.bulk_update(
            plan.peers_update, _PEER_WRITE_FIELDS, batch_size=IMPORT_BATCH
        )
    for level in plan.groups_create:
        for group in level:
            group.server = server
        ScopeGroup.objects.bulk_create(level, batch_size=IMPORT_BATCH)
    if plan.groups_update:
        ScopeGroup.objects.bulk_update(
            plan.groups_update, _GROUP_WRITE_FIELDS, batch_size=IMPORT_BATCH
        )
    for scope in plan.scopes_create:
        scope.server = server
    _insert(Scope, plan.scopes_create)
    if plan.scopes_create:  # their ids, for the pools (one query; RETURNING is not portable)
        ids = dict(Scope.objects.filter(server=server).values_list("network", "pk"))
        for scope in plan.scopes_create:
            scope.pk = ids[scope.network]
            scope._state.adding = False
            scope._state.db = "default"
    if plan.scopes_update:
        Scope.objects.bulk_update(plan.scopes_update, _SCOPE_WRITE_FIELDS, batch_size=IMPORT_BATCH)
    _insert(AddressPool, plan.pools_create)
    if plan.pools_update:
        AddressPool.objects.bulk_update(
            plan.pools_update, _POOL_WRITE_FIELDS, batch_size=IMPORT_BATCH
        )
    for model, pks in (
        (AddressPool, plan.pools_delete),  # primary keys (the plan read them as rows)
        (Scope, plan.scopes_delete),
        (FailoverPeer, [peer.pk for peer in plan.peers_delete]),
        (ScopeGroup, [group.pk for group in plan.groups_delete]),
    ):
        for chunk in _chunks(pks):
            model.objects.filter(pk__in=chunk).delete()
