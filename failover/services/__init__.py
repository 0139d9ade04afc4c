"""Domain operations: the one home of every rule that changes more than one row.

Each operation is atomic, validates with ``full_clean()`` before saving, and writes a
ChangeRecord. Views, admin actions and management commands call these; nothing else
performs these writes. Each operation has a ``*_plan`` function that says, without changing
anything, what it would do (computed by the same code: the operation calls its plan inside
its transaction, so a preview and the action never disagree).

Rules from Micetro's "Managing Failover Configurations for ISC DHCP":
- first peer: when a server's first failover peer is created, all other address pools on
  the server are updated to refer to it (``peers``);
- deleting a peer: the last peer on the server -> references are removed; exactly one other
  peer -> references move to it; two or more others -> the user chooses the replacement
  (``peers``);
- last referrer: when a pool that is the last one referring to a peer changes to another
  peer (or none, or is deleted), that peer is deleted too, after the user confirmed it
  (``_base``, used by ``pools``, ``scopes`` and ``migrate``).

Modules: ``_base`` (Actor, ConfirmationRequired, change records, save helpers, typed field
sets, the last-referrer rule), ``servers``, ``scopes``, ``pools``, ``peers``, ``migrate``
(a scope to its partner server), ``imports`` (a dhcpd.conf). Everything public is
re-exported here: ``from failover import services; services.pool_create(...)``.
"""

from django.core.exceptions import ValidationError

from ._base import (
    LOST_RACE_ERRORS,
    Actor,
    ConfirmationRequired,
    DeletePlan,
    PeerChangeResult,
    PeerFields,
    PeerStatements,
    ScopeFields,
    ScopeOptions,
    ServerFields,
    is_deadlock,
    lock_servers,
    lost_race_message,
    orphan_message,
    peers_orphaned_by,
    retry_on_deadlock,
)
from .imports import (
    IMPORT_BATCH,
    StaleImportPlan,
    config_import,
    config_import_plan,
    without_cycle_collection,
)
from .migrate import (
    MIRRORED_PEER_FIELDS,
    PEER_CREATE_FIELDS,
    SCOPE_OPTION_FIELDS,
    FieldChange,
    MigratePlan,
    PoolPeerChange,
    PoolSpec,
    mirror_peer,
    scope_migrate_plan,
    scope_migrate_to_partner,
)
from .peers import (
    PeerCreatePlan,
    PeerCreateResult,
    PeerDeletePlan,
    PeersDeletePlan,
    ServerPeersDeletion,
    peer_create,
    peer_create_plan,
    peer_delete,
    peer_delete_plan,
    peer_update,
    peer_update_plan,
    peers_delete,
    peers_delete_plan,
)
from .pools import (
    PoolsPeerPlan,
    PoolUpdatePlan,
    pool_create,
    pool_create_plan,
    pool_delete,
    pool_delete_plan,
    pool_update,
    pool_update_plan,
    pools_set_failover_peer,
    pools_set_failover_peer_plan,
)
from .scopes import (
    scope_create,
    scope_create_plan,
    scope_delete,
    scope_delete_plan,
    scope_update,
    scope_update_plan,
)
from .servers import (
    server_create,
    server_create_plan,
    server_delete,
    server_delete_plan,
    server_update,
    server_update_plan,
)

__all__ = [
    "IMPORT_BATCH",
    "LOST_RACE_ERRORS",
    "MIRRORED_PEER_FIELDS",
    "PEER_CREATE_FIELDS",
    "SCOPE_OPTION_FIELDS",
    "Actor",
    "ConfirmationRequired",
    "DeletePlan",
    "FieldChange",
    "MigratePlan",
    "PeerChangeResult",
    "PeerCreatePlan",
    "PeerCreateResult",
    "PeerDeletePlan",
    "PeerFields",
    "PeerStatements",
    "PeersDeletePlan",
    "PoolPeerChange",
    "PoolSpec",
    "PoolUpdatePlan",
    "PoolsPeerPlan",
    "ScopeFields",
    "ScopeOptions",
    "ServerFields",
    "ServerPeersDeletion",
    "StaleImportPlan",
    "ValidationError",
    "config_import",
    "config_import_plan",
    "is_deadlock",
    "lock_servers",
    "lost_race_message",
    "mirror_peer",
    "orphan_message",
    "peer_create",
    "peer_create_plan",
    "peer_delete",
    "peer_delete_plan",
    "peer_update",
    "peer_update_plan",
    "peers_delete",
    "peers_delete_plan",
    "peers_orphaned_by",
    "pool_create",
    "pool_create_plan",
    "pool_delete",
    "pool_delete_plan",
    "pool_update",
    "pool_update_plan",
    "pools_set_failover_peer",
    "pools_set_failover_peer_plan",
    "retry_on_deadlock",
    "scope_create",
    "scope_create_plan",
    "scope_delete",
    "scope_delete_plan",
    "scope_migrate_plan",
    "scope_migrate_to_partner",
    "scope_update",
    "scope_update_plan",
    "server_create",
    "server_create_plan",
    "server_delete",
    "server_delete_plan",
    "server_update",
    "server_update_plan",
    "without_cycle_collection",
]
