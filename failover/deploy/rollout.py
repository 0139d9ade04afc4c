"""Deploy: put the rendered dhcpd.conf on the running servers, one server at a time.

``deploy_plan(servers)`` says, without changing anything, what a deploy would do on each
server: the unified diff from the live file (or, when the server cannot be read, from the
last deployed text), the local ``dhcpd -t`` result and the pair-check findings.
``deploy_start(...)`` records a :class:`Rollout` with one :class:`Deployment` per server and
enqueues the django-tasks task :func:`run_rollout`, which the worker (``manage.py
db_worker``) runs: :func:`execute_rollout`.

Per server the steps are (each a :class:`DeployStep` with its command and output, written as
it happens):

1. ``connect``  SSH with the pinned host key (a changed key refuses the deploy);
2. ``read``     the live file (its bytes are kept in memory for the restore) and, where
               OMAPI is set, the state of each failover relationship of the server;
3. ``upload``   the new text to a temporary file beside the config (same directory, so the
               rename below is atomic), read back and compared byte for byte;
4. ``check``    the server's check command (``dhcpd -t -cf {file}``) against that file;
5. ``backup``   the live file copied to ``<config>.dhcpadmin-backup-<UTC time>``; only the
               newest ``DHCPADMIN_DEPLOY_BACKUPS`` are kept;
6. ``replace``  an atomic rename of the temporary file over the config;
7. ``restart``  the restart command (its exit status must be 0);
8. ``verify``   the config on the server is byte-identical to the text deployed, and dhcpd
               runs: within ``DHCPADMIN_DEPLOY_VERIFY_SECONDS`` the target's status command
               (if it has one) exits 0 and, where OMAPI is set, dhcpd answers OMAPI (the
               daemon's failover-state object of each peer of the new config);
9. ``normal``   where OMAPI is set: each relationship that was ``normal`` before the deploy
               is ``normal`` again within a bound taken from the failover settings
               (``DHCPADMIN_DEPLOY_NORMAL_SECONDS``, or ``2 × max-response-delay + 30`` s).
               A relationship that was not ``normal`` before (a first deploy) is not
               required to become ``normal`` (a warning says how it is).

Any failed step stops the deployment and restores: the temporary file is removed; when the
config had been replaced, the previous bytes are put back by the same upload + atomic rename,
dhcpd is restarted and verified (the config is byte-identical to what it was). When the
config had not been replaced yet, the live file was never touched; dhcpd is only verified
(and restarted if it does not run). The outcome names the failed step, the server and the
command's output. A relationship is rolled out secondary first; the primary is touched only
when the secondary's deployment succeeded (so its relationship is back in ``normal``). A
failed server stops the rollout: the servers after it are ``not started``.

One deploy per server at a time: the partial unique index
``one_active_deployment_per_server`` (queued or running) refuses a second one in the
database, so two requests, two web servers or two workers cannot both start one; a deploy
whose worker died is marked ``abandoned`` once its heartbeat is older than
``DHCPADMIN_DEPLOY_STALE_SECONDS``.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import posixpath
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from failover.access import DEPLOY_SERVER
from failover.crypto import UNREADABLE
from failover.dhcpd import omapi as dhcpd_omapi
from failover.dhcpd.check import CheckResult, check_config
from failover.dhcpd.pair import Finding
from failover.dhcpd.render import render_server
from failover.live.omapi import read_peer
from failover.models import ChangeRecord, DhcpServer, FailoverPeer
from failover.selectors import RelationshipView, relationship_of_peer, server_failover

from .rollout_models import ACTIVE, Deployment, DeployStatus, DeployStep, Rollout, StepStatus

Actor = Any  # request.user (a User, or AnonymousUser), or None for the system

#: Output kept per step (the rest is cut, with a note).
MAX_STEP_OUTPUT = 64 * 1024
#: Diff kept per deployment.
MAX_DIFF = 2 * 1024 * 1024

BACKUP_MARK = ".dhcpadmin-backup-"
TEMP_MARK = ".dhcpadmin-upload-"


def _setting(name: str, default: float) -> float:
    value: Any = getattr(settings, name, None)
    return float(default if value in (None, "") else value)


def backups_kept() -> int:
    return max(1, int(_setting("DHCPADMIN_DEPLOY_BACKUPS", 5)))


def command_timeout() -> float:
    return _setting("DHCPADMIN_DEPLOY_COMMAND_TIMEOUT", 60)


def verify_seconds() -> float:
    return _setting("DHCPADMIN_DEPLOY_VERIFY_SECONDS", 20)


def stale_seconds() -> float:
    return _setting("DHCPADMIN_DEPLOY_STALE_SECONDS", 900)


def normal_seconds(peer: FailoverPeer | None) -> float:
    """How long a relationship may take to be ``normal`` again after a restart: the setting,
    or from the failover settings (the partner notices a lost connection within
    max-response-delay; twice that plus the restart)."""
    fixed: Any = getattr(settings, "DHCPADMIN_DEPLOY_NORMAL_SECONDS", None)
    if fixed not in (None, ""):
        return float(fixed)
    delay = peer.max_response_delay if peer is not None else None
    return float(2 * (delay or 60) + 30)


_PEER_DECLARATION = re.compile(r'^\s*failover\s+peer\s+"?([^"\s{;]+)"?\s*\{', re.MULTILINE)


def declared_peers(text: str | bytes | None) -> list[str]:
    """The names of the ``failover peer "NAME" { … }`` declarations in a dhcpd.conf: what the
    daemon answers OMAPI for once it runs that file."""
    if text is None:
        return []
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return sorted(set(_PEER_DECLARATION.findall(text)))


# --- the connection (failover.deploy.ssh; any object of this shape in tests) ---------------


class RunResultLike(Protocol):
    exit_status: int
    stdout: bytes
    stderr: bytes


class ConnectionLike(Protocol):
    def run(
        self, argv: list[str], *, timeout: float | None = None, input: bytes | None = None
    ) -> Any: ...
    def read(self, path: str) -> bytes: ...
    def write(self, path: str, data: bytes) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def remove(self, path: str) -> None: ...
    def listdir(self, path: str) -> list[str]: ...


Connect = Callable[..., AbstractContextManager[Any]]


def _ssh() -> Any:
    return importlib.import_module("failover.deploy.ssh")


def default_connect(target: Any, *, timeout: float | None = None) -> AbstractContextManager[Any]:
    return _ssh().connect(target, timeout=timeout)


def _target(server: DhcpServer) -> Any:
    """The server's SshTarget, or None."""
    try:
        return server.ssh
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist (model of the deploy part)
        return None


# --- the plan (the preview) ----------------------------------------------------------------


def sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def unified_diff(old: str | None, new: str, *, old_label: str, new_label: str) -> str:
    diff = "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )
    if len(diff) > MAX_DIFF:
        diff = diff[:MAX_DIFF] + "\n… (diff cut at 2 MiB)\n"
    return diff


_SECRET = re.compile(r'^([-+ ]?\s*secret\s+)("[^"\n]*"|[^;\s]+)(\s*;)', re.MULTILINE)
HIDDEN = '"<secret hidden>"'


def hide_secrets(text: str, server: DhcpServer | None = None) -> str:
    """``text`` (a diff, a command's output) with every ``secret …;`` of a key hidden, and
    the server's OMAPI secret wherever it appears: the pages show deploys to every user."""
    if not text:
        return text
    text = _SECRET.sub(lambda m: f"{m.group(1)}{HIDDEN}{m.group(3)}", text)
    secret = server.omapi_key_secret if server is not None else ""
    if secret and secret != UNREADABLE and len(secret) >= 8:
        text = text.replace(secret, HIDDEN)
    return text


@dataclass
class ServerPlan:
    """What a deploy would do on one server."""

    server: DhcpServer
    text: str
    render_error: str = ""
    base_label: str = ""  # what the diff is against
    base_note: str = ""  # why not the live file, when it is not
    diff: str = ""
    check: CheckResult | None = None
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # refuse the deploy (no override)
    active: Deployment | None = None
    busy: str = ""  # a deploy of this server is queued or running (one of ``problems``)

    @property
    def sha256(self) -> str:
        return sha256(self.text)

    @property
    def changed(self) -> bool:
        return bool(self.diff)

    @property
    def blockers(self) -> list[str]:
        """What an operator may override with a typed reason."""
        out = [f"{self.server.name}: {finding}" for finding in self.findings]
        if self.check is not None and not self.check.ok and not self.check.missing_binary:
            out += [f"{self.server.name}: dhcpd -t: {e}" for e in self.check.errors]
        return out


@dataclass
class DeployPlan:
    servers: list[ServerPlan]
    relationship: str = ""
    kind: str = "deploy"

    @property
    def problems(self) -> list[str]:
        return [p for s in self.servers for p in s.problems]

    @property
    def blockers(self) -> list[str]:
        return [b for s in self.servers for b in s.blockers]

    @property
    def token(self) -> str:
        """Names exactly the texts previewed: a deploy started from the preview is refused
        when the configuration changed meanwhile."""
        return sha256("\n".join(f"{s.server.pk}:{s.sha256}" for s in self.servers))[:32]


def relationship_servers(peer: FailoverPeer) -> tuple[RelationshipView, list[DhcpServer]]:
    """The relationship of ``peer`` and its servers in rollout order: the secondary first."""
    relationship = relationship_of_peer(peer)
    if relationship is None:
        raise ValidationError("This peer declaration is not part of a relationship.")
    servers = [
        s for s in (relationship.secondary_server, relationship.primary_server) if s is not None
    ]
    return relationship, servers


def last_deployed(server: DhcpServer) -> Deployment | None:
    return (
        Deployment.objects.filter(server=server, status=DeployStatus.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .first()
    )


def active_deployment(server: DhcpServer) -> Deployment | None:
    return (
        Deployment.objects.filter(server=server, status__in=ACTIVE)
        .select_related("rollout__user")
        .first()
    )


def _findings(server: DhcpServer) -> list[Finding]:
    failover = server_failover(server)
    out: list[Finding] = []
    for rel in failover.relationships:
        out += [*rel.other_findings, *rel.first_scope_findings]
        more = rel.more_scope_findings
        if more:
            out.append(
                Finding(
                    "warning",
                    rel.name,
                    f"and {more} more finding(s) of single scopes",
                    "more",
                )
            )
    return out


def _ssh_problems(server: DhcpServer) -> list[str]:
    target = _target(server)
    if target is None:
        return [f"{server.name}: SSH is not configured (set it on the server page)."]
    problems = []
    if not getattr(target, "host_key", ""):
        problems.append(
            f"{server.name}: the SSH host key is not accepted yet (Test Connection on the "
            "server page shows it)."
        )
    elif getattr(target, "offered_key", ""):
        problems.append(
            f"{server.name}: the SSH host key has changed; an admin must accept the new key "
            "before any deploy."
        )
    if not (getattr(target, "key_path", "") or getattr(target, "key_secret", "")):
        problems.append(f"{server.name}: no SSH private key is set.")
    return problems


def _fetch_live(server: DhcpServer, connect: Connect) -> tuple[str | None, str]:
    """The live file's text, or (None, why not)."""
    target = _target(server)
    if target is None:
        return None, "SSH is not configured"
    try:
        with connect(target, timeout=_setting("DHCPADMIN_DEPLOY_PREVIEW_TIMEOUT", 10)) as conn:
            if hasattr(conn, "stat") and conn.stat(target.config_path) is None:
                return "", ""
            return conn.read(target.config_path).decode("utf-8", errors="replace"), ""
    except Exception as exc:  # noqa: BLE001 - any SSH fault is a note on the preview
        return None, str(exc) or type(exc).__name__


def plan_server(
    server: DhcpServer,
    *,
    text: str | None = None,
    fetch_live: bool = True,
    connect: Connect | None = None,
    with_findings: bool = True,
) -> ServerPlan:
    render_error = ""
    if text is None:
        try:
            text = render_server(server)
        except ValueError as exc:
            text, render_error = "", f"This configuration cannot be rendered: {exc}"
    plan = ServerPlan(server=server, text=text, render_error=render_error)
    if render_error:
        plan.problems.append(f"{server.name}: {render_error}")
        return plan
    plan.problems += _ssh_problems(server)
    plan.active = active_deployment(server)
    if plan.active is not None:
        plan.busy = _busy_message(plan.active)
        plan.problems.append(plan.busy)
    base: str | None = None
    if fetch_live and not plan.problems:
        base, why = _fetch_live(server, connect or default_connect)
        if base is not None:
            plan.base_label = "live file"
        else:
            plan.base_note = f"The live file could not be read ({why})."
    if base is None:
        previous = last_deployed(server)
        if previous is not None:
            base = previous.text
            plan.base_label = f"last deployed version (#{previous.pk})"
        else:
            plan.base_label = "nothing (never deployed)"
    target = _target(server)
    path = target.config_path if target is not None else "dhcpd.conf"
    plan.diff = hide_secrets(
        unified_diff(
            base, text, old_label=f"{path} ({plan.base_label})", new_label=f"{path} (new)"
        ),
        server,
    )
    plan.check = check_config(text)
    if with_findings:
        plan.findings = _findings(server)
    return plan


def deploy_plan(
    servers: Sequence[DhcpServer],
    *,
    relationship: str = "",
    texts: dict[int, str] | None = None,
    fetch_live: bool = True,
    connect: Connect | None = None,
    kind: str = "deploy",
) -> DeployPlan:
    """Per server, in rollout order: the diff, ``dhcpd -t`` on the text, the pair check.

    ``texts`` (server pk -> text) deploys given texts instead of the rendered ones (a roll
    back); their pair check is not the model's, so it is not shown for them."""
    plans = [
        plan_server(
            server,
            text=(texts or {}).get(server.pk),
            fetch_live=fetch_live,
            connect=connect,
            with_findings=texts is None,
        )
        for server in servers
    ]
    return DeployPlan(plans, relationship=relationship, kind=kind)


# --- starting a deploy ----------------------------------------------------------------------


class DeployRefused(ValidationError):
    """The deploy was not started (nothing changed); the message says why."""


def _busy_message(active: Deployment) -> str:
    who = active.rollout.user.get_username() if active.rollout.user else "the system"
    return (
        f"{active.server.name}: a deploy is already {active.status} (started by {who} at "
        f"{timezone.localtime(active.created):%Y-%m-%d %H:%M:%S}); one deploy per server at "
        "a time."
    )


def _record(actor: Actor, action: str, summary: str) -> None:
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    ChangeRecord.objects.create(user=user, action=action, summary=summary)


def _abandon_stale(servers: Sequence[DhcpServer]) -> None:
    """Active deployments whose worker stopped (no heartbeat for the stale time)."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds())
    stale = Deployment.objects.filter(server__in=servers, status__in=ACTIVE).filter(
        heartbeat__lt=cutoff
    ) | Deployment.objects.filter(
        server__in=servers, status__in=ACTIVE, heartbeat__isnull=True, created__lt=cutoff
    )
    for dep in stale.select_related("server"):
        Deployment.objects.filter(pk=dep.pk, status__in=ACTIVE).update(
            status=DeployStatus.ABANDONED,
            finished_at=timezone.now(),
            outcome="The worker stopped while this deploy was queued or running; check the "
            "server (Live Configuration) before deploying again.",
        )
        Rollout.objects.filter(pk=dep.rollout_id, status__in=ACTIVE).update(
            status=DeployStatus.ABANDONED, finished_at=timezone.now()
        )


def deploy_start(
    servers: Sequence[DhcpServer],
    *,
    actor: Actor,
    override_reason: str = "",
    token: str | None = None,
    relationship: str = "",
    texts: dict[int, str] | None = None,
    rollback_of: Deployment | None = None,
    enqueue: bool = True,
) -> Rollout:
    """Record the rollout and enqueue it; the worker runs it (:func:`run_rollout`).

    Refused (:class:`DeployRefused`, nothing changed) without the deploy permission, when a
    server cannot be deployed (no SSH, host key not accepted, not renderable), while a deploy
    of one of the servers is queued or running, when the texts are not the previewed ones
    (``token``), and when there are findings or ``dhcpd -t`` errors unless
    ``override_reason`` says why to deploy anyway."""
    if actor is not None and not actor.has_perm(DEPLOY_SERVER):
        raise PermissionDenied("Deploying needs the Operators group's deploy permission.")
    if not servers:
        raise DeployRefused("No server to deploy to.")
    kind = "rollback" if rollback_of is not None else "deploy"
    plan = deploy_plan(servers, relationship=relationship, texts=texts, fetch_live=False, kind=kind)
    if token is not None and token != plan.token:
        raise DeployRefused(
            "The configuration changed since the preview: nothing was deployed. Look at the "
            "new preview and deploy again."
        )
    override_reason = (override_reason or "").strip()
    # a busy server is refused below, by the database (atomically), with the same message
    problems = [p for s in plan.servers for p in s.problems if p != s.busy]
    if problems:
        raise DeployRefused(problems)
    if plan.blockers and not override_reason:
        raise DeployRefused(
            [
                "Findings block this deploy; an operator may override them with a reason.",
                *plan.blockers,
            ]
        )
    try:
        with transaction.atomic():
            _abandon_stale(servers)
            rollout = Rollout.objects.create(
                user=actor if isinstance(actor, User) and actor.is_authenticated else None,
                relationship=relationship,
                kind=kind,
                override_reason=override_reason if plan.blockers else "",
            )
            for position, sp in enumerate(plan.servers):
                target = _target(sp.server)
                Deployment.objects.create(
                    rollout=rollout,
                    server=sp.server,
                    position=position,
                    text=sp.text,
                    text_sha256=sp.sha256,
                    rollback_of=rollback_of,
                    config_path=target.config_path if target is not None else "",
                )
            names = ", ".join(s.server.name for s in plan.servers)
            what = f"relationship {relationship} ({names})" if relationship else names
            summary = (
                f"Roll back of {rollback_of.server.name} to deployment #{rollback_of.pk}"
                if rollback_of is not None
                else f"Deploy to {what}"
            )
            if plan.blockers:
                summary += f"; findings overridden: {override_reason}"
            _record(actor, f"{kind}_start", f"{summary} (rollout #{rollout.pk}).")
            if enqueue:
                run_rollout.enqueue(rollout.pk)
    except IntegrityError:
        busy = [
            _busy_message(dep) for dep in (active_deployment(s) for s in servers) if dep is not None
        ]
        raise DeployRefused(
            busy or ["Another deploy of these servers started at the same moment."]
        ) from None
    return rollout


def rollback_plan(deployment: Deployment, *, connect: Connect | None = None) -> DeployPlan:
    return deploy_plan(
        [deployment.server],
        texts={deployment.server_id: deployment.text},
        connect=connect,
        kind="rollback",
    )


def rollback_start(deployment: Deployment, *, actor: Actor, token: str | None = None) -> Rollout:
    """Deploy the text of an earlier deployment again, with the same steps."""
    if deployment.status != DeployStatus.SUCCEEDED:
        raise DeployRefused("Only a version that was deployed can be rolled back to.")
    if deployment.text == UNREADABLE:
        raise DeployRefused(
            "This version cannot be decrypted any more (the encryption key changed)."
        )
    return deploy_start(
        [deployment.server],
        actor=actor,
        token=token,
        texts={deployment.server_id: deployment.text},
        rollback_of=deployment,
    )


# --- running it (the worker) ----------------------------------------------------------------


@task()
def run_rollout(rollout_id: int) -> str:
    """The django-tasks task: run the rollout (the worker, ``manage.py db_worker``)."""
    return execute_rollout(rollout_id)


class StepFailed(Exception):
    def __init__(self, step: str, output: str):
        super().__init__(output)
        self.step = step
        self.output = output


def _cut(text: str) -> str:
    if len(text) > MAX_STEP_OUTPUT:
        return text[:MAX_STEP_OUTPUT] + "\n… (output cut at 64 KiB)"
    return text


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


def _result_text(result: Any) -> str:
    out = _decode(getattr(result, "stdout", b"")) + _decode(getattr(result, "stderr", b""))
    return f"exit status {result.exit_status}" + (f"\n{out.rstrip()}" if out.strip() else "")


@dataclass
class _State:
    previous: bytes | None = None  # the live file's bytes before (None: there was none)
    previous_mode: int | None = None
    temp: str | None = None  # the uploaded temporary file, while it exists
    replaced: bool = False  # the config was replaced by the new text
    pre_states: dict[str, str | None] = field(default_factory=dict)  # peer -> state before


class _Runner:
    """One server's deployment: the steps, and the restore when one fails."""

    def __init__(self, dep: Deployment, *, connect: Connect, last: bool):
        self.dep = dep
        self.server = dep.server
        self.target = _target(self.server)
        self.connect = connect
        self.last = last
        self.position = dep.steps.count()
        self.new = dep.text.encode("utf-8")
        self.state = _State()
        # the peers the new text declares (a roll back may differ from the model), and the
        # model's peers of those names (their max-response-delay bounds the normal wait)
        self.peers = declared_peers(dep.text)
        self.model_peers = {p.name: p for p in self.server.failover_peers.all()}

    # --- recording ---
    @contextmanager
    def step(self, name: str, command: str = "") -> Iterator[list[str]]:
        """A step: its row is written first (``running``), then its output and status. Any
        exception fails it (``StepFailed``); appending ``"!warning"`` marks a warning."""
        self.position += 1
        now = timezone.now()
        row = DeployStep.objects.create(
            deployment=self.dep,
            position=self.position,
            name=name,
            status=StepStatus.RUNNING,
            command=command,
            started_at=now,
        )
        Deployment.objects.filter(pk=self.dep.pk).update(heartbeat=now)
        lines: list[str] = []
        try:
            yield lines
        except StepFailed as failure:
            self._finish(row, StepStatus.FAILED, [*lines, failure.output])
            raise StepFailed(name, failure.output) from None
        except Exception as exc:  # noqa: BLE001 - every fault of a step is its failure
            message = str(exc) or type(exc).__name__
            self._finish(row, StepStatus.FAILED, [*lines, message])
            raise StepFailed(name, message) from None
        status = StepStatus.OK
        if "!warning" in lines:
            status = StepStatus.WARNING
        if "!skipped" in lines:
            status = StepStatus.SKIPPED
        self._finish(row, status, [line for line in lines if not line.startswith("!")])

    def _beat(self) -> None:
        """The heartbeat: this deployment is still being worked on (see _abandon_stale)."""
        Deployment.objects.filter(pk=self.dep.pk).update(heartbeat=timezone.now())

    def _finish(self, row: DeployStep, status: str, lines: list[str]) -> None:
        row.status = status
        row.output = _cut(hide_secrets("\n".join(line for line in lines if line), self.server))
        row.finished_at = timezone.now()
        row.save(update_fields=["status", "output", "finished_at"])

    # --- helpers ---
    @property
    def config(self) -> str:
        return str(self.target.config_path)

    def _command(self, name: str, **values: str) -> list[str]:
        return list(self.target.command(name, **values))

    def _run(self, conn: Any, argv: list[str], lines: list[str]) -> None:
        result = conn.run(argv, timeout=command_timeout())
        lines.append(_result_text(result))
        if result.exit_status != 0:
            raise StepFailed("", "\n".join(lines))

    def _exists(self, conn: Any, path: str) -> bool:
        if hasattr(conn, "stat"):
            return conn.stat(path) is not None
        directory, name = posixpath.split(path)
        return name in conn.listdir(directory)

    def _mode(self, conn: Any, path: str) -> int | None:
        if hasattr(conn, "stat"):
            attrs = conn.stat(path)
            mode = getattr(attrs, "st_mode", None)
            return (mode & 0o7777) if isinstance(mode, int) else None
        return None

    def _put(self, conn: Any, path: str, data: bytes, mode: int | None) -> None:
        """Write ``data`` to ``path`` and read it back: a short write (a full disk, a
        dropped connection) is an error here, never a truncated file later."""
        if mode is not None:
            try:
                conn.write(path, data, mode=mode)
            except TypeError:
                conn.write(path, data)
        else:
            conn.write(path, data)
        back = conn.read(path)
        if back != data:
            raise StepFailed(
                "",
                f"{path} holds {len(back)} bytes after the upload, not the {len(data)} sent "
                "(a full disk?).",
            )

    def _temp_path(self) -> str:
        directory, name = posixpath.split(self.config)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        return posixpath.join(directory, f".{name}{TEMP_MARK}{stamp}-{secrets.token_hex(4)}")

    def _status_command(self) -> list[str] | None:
        if not getattr(self.target, "status_command", ""):
            return None
        try:
            return self._command("status_command")
        except (ValueError, ValidationError):
            return None

    def _omapi_set(self) -> bool:
        return bool(self.server.omapi_port)

    def _peer_state(self, name: str, timeout: float = 5.0) -> tuple[str | None, str]:
        """The local state of peer ``name`` over OMAPI: (state name or None, detail)."""
        return peer_state(self.server, name, timeout=timeout)

    def _daemon_up(self, conn: Any, peer_names: list[str]) -> tuple[bool, list[str]]:
        """Is dhcpd up: the status command exits 0 (when the target has one) and dhcpd
        answers OMAPI (when set). Waits at most DHCPADMIN_DEPLOY_VERIFY_SECONDS."""
        status_argv = self._status_command()
        deadline = time.monotonic() + verify_seconds()
        last: list[str] = []
        while True:
            last = []
            up = True
            if status_argv is not None:
                result = conn.run(status_argv, timeout=command_timeout())
                last.append(f"status command: {_result_text(result)}")
                up = result.exit_status == 0
            if up and self._omapi_set():
                if peer_names:
                    for name in peer_names:
                        state, detail = self._peer_state(name)
                        if state is None:
                            up = False
                            last.append(f"OMAPI: no answer for {name}: {detail}")
                        else:
                            last.append(f"OMAPI: {name} answers, local state {state}")
                else:
                    ok, detail = omapi_port_open(self.server)
                    up = ok
                    last.append(f"OMAPI port: {detail}")
            if up or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        if status_argv is None and not self._omapi_set():
            last.append(
                "No status command and no OMAPI: the restart command's exit status is the "
                "only sign that dhcpd runs."
            )
        return up, last

    # --- the steps ---
    def run(self) -> bool:
        """Run the steps; on a failure restore. True when the deployment succeeded."""
        try:
            self._forward()
        except StepFailed as failure:
            self._restore(failure)
            return False
        return True

    def _forward(self) -> None:
        target = self.target
        with self.step("connect") as lines:
            if target is None:
                raise StepFailed("", "SSH is not configured for this server.")
            cm = self.connect(target, timeout=None)
            lines.append(f"{target} (host key {getattr(target, 'host_key_type', '')})")
        with cm as conn:
            self._forward_steps(conn)

    def _forward_steps(self, conn: Any) -> None:
        state = self.state
        with self.step("read") as lines:
            if self._exists(conn, self.config):
                state.previous = conn.read(self.config)
                state.previous_mode = self._mode(conn, self.config)
                lines.append(f"{self.config}: {len(state.previous)} bytes")
            else:
                lines.append(f"{self.config} does not exist yet.")
            old = None if state.previous is None else _decode(state.previous)
            self.dep.previous_sha256 = sha256(state.previous) if state.previous else ""
            self.dep.diff = hide_secrets(
                unified_diff(
                    old,
                    self.dep.text,
                    old_label=f"{self.config} (live)",
                    new_label=f"{self.config} (new)",
                ),
                self.server,
            )
            self.dep.save(update_fields=["previous_sha256", "diff"])
            if self._omapi_set():
                for name in self.peers:
                    found, detail = self._peer_state(name)
                    state.pre_states[name] = found
                    lines.append(f"failover {name}: {found or detail}")
        if state.previous == self.new:
            with self.step("upload") as lines:
                lines += ["The server already has this text: nothing to upload.", "!skipped"]
            self._verify(conn, restarted=False)
            return
        temp = self._temp_path()
        with self.step("upload", f"sftp put {temp}") as lines:
            state.temp = temp
            self._put(conn, temp, self.new, state.previous_mode)
            lines.append(f"{len(self.new)} bytes written to {temp} and read back.")
        argv = self._command("check_command", file=temp)
        with self.step("check", _show(argv)) as lines:
            self._run(conn, argv, lines)
        with self.step("backup") as lines:
            if state.previous is None:
                lines += ["No current file: nothing to back up.", "!skipped"]
            else:
                stamp = timezone.now().strftime("%Y%m%dT%H%M%S.%fZ")
                backup = f"{self.config}{BACKUP_MARK}{stamp}"
                self._put(conn, backup, state.previous, state.previous_mode)
                self.dep.backup_path = backup
                self.dep.save(update_fields=["backup_path"])
                lines.append(f"{backup}: {len(state.previous)} bytes")
                lines += self._prune(conn)
        with self.step("replace", f"sftp posix-rename {temp} {self.config}") as lines:
            conn.rename(temp, self.config)
            state.temp = None
            state.replaced = True
            lines.append(f"{self.config} replaced (atomic rename).")
        argv = self._command("restart_command")
        with self.step("restart", _show(argv)) as lines:
            self._run(conn, argv, lines)
        self._verify(conn, restarted=True)
        self._normal()

    def _prune(self, conn: Any) -> list[str]:
        directory, name = posixpath.split(self.config)
        prefix = f"{name}{BACKUP_MARK}"
        backups = sorted(n for n in conn.listdir(directory) if n.startswith(prefix))
        removed = []
        for old in backups[: -backups_kept()]:
            conn.remove(posixpath.join(directory, old))
            removed.append(old)
        kept = len(backups) - len(removed)
        return [f"{kept} backup(s) kept" + (f"; removed {', '.join(removed)}" if removed else "")]

    def _verify(self, conn: Any, *, restarted: bool) -> None:
        with self.step("verify") as lines:
            live = conn.read(self.config)
            if live != self.new:
                raise StepFailed(
                    "", f"{self.config} is not the deployed text ({len(live)} bytes read)."
                )
            lines.append(f"{self.config} is the deployed text (sha256 {sha256(live)[:16]}…).")
            up, detail = self._daemon_up(conn, self.peers)
            lines += detail
            if not up:
                raise StepFailed(
                    "",
                    "\n".join([*lines, f"dhcpd does not run within {verify_seconds():g} seconds."]),
                )
            lines.append("dhcpd runs.")

    def _normal(self) -> None:
        if not self._omapi_set() or not self.peers:
            return
        with self.step("normal") as lines:
            warn = False
            for name in self.peers:
                required = self.state.pre_states.get(name) == "normal"
                bound = normal_seconds(self.model_peers.get(name))
                if not required and not self.last:
                    found, detail = self._peer_state(name)
                    lines.append(
                        f"{name}: {found or detail} (it was "
                        f"{self.state.pre_states.get(name) or 'not readable'} before the "
                        "deploy, so it is not required to be normal)"
                    )
                    warn = warn or found != "normal"
                    continue
                found, detail, waited = wait_normal(self.server, name, bound, beat=self._beat)
                if found == "normal":
                    lines.append(f"{name}: normal after {waited:.0f} s")
                    continue
                text = (
                    f"{name}: {found or detail}, not normal within {bound:g} s "
                    "(from max-response-delay or DHCPADMIN_DEPLOY_NORMAL_SECONDS)"
                )
                if required:
                    raise StepFailed("", "\n".join([*lines, text]))
                lines.append(text + "; it was not normal before the deploy either")
                warn = True
            if warn:
                lines.append("!warning")

    # --- restore ---
    def _restore(self, failure: StepFailed) -> None:
        state = self.state
        notes: list[str] = []
        if failure.step == "connect":
            self.dep.failed_step = failure.step
            self.dep.outcome = (
                f"Step 'connect' failed on {self.server.name}: {failure.output.strip()}\n"
                "Nothing was changed on the server."
            )
            return
        restored_ok = True
        try:
            with self.connect(self.target, timeout=None) as conn:
                with self.step("restore") as lines:
                    if state.temp is not None:
                        try:
                            conn.remove(state.temp)
                            lines.append(f"{state.temp} removed.")
                        except Exception as exc:  # noqa: BLE001 - it may not exist
                            lines.append(f"{state.temp} not removed: {exc}")
                        state.temp = None
                    if state.replaced:
                        if state.previous is None:
                            conn.remove(self.config)
                            lines.append(f"{self.config} removed (there was none before).")
                        else:
                            temp = self._temp_path()
                            self._put(conn, temp, state.previous, state.previous_mode)
                            conn.rename(temp, self.config)
                            lines.append(f"{self.config}: the previous file is back.")
                    else:
                        lines.append(f"{self.config} was not changed.")
                    live = conn.read(self.config) if state.previous is not None else None
                    if live != state.previous:
                        raise StepFailed("", f"{self.config} is NOT the previous file.")
                    if state.previous is not None:
                        lines.append("It is byte-identical to the file before the deploy.")
                up, detail = False, list[str]()
                if not state.replaced:
                    with self.step("verify") as lines:
                        up, detail = self._daemon_up(conn, declared_peers(state.previous))
                        lines += detail
                        lines.append("dhcpd runs." if up else "dhcpd does not run: restarting.")
                        if not up:
                            lines.append("!warning")
                if state.replaced or not up:
                    argv = self._command("restart_command")
                    with self.step("restart", _show(argv)) as lines:
                        self._run(conn, argv, lines)
                    with self.step("verify") as lines:
                        up, detail = self._daemon_up(conn, declared_peers(state.previous))
                        lines += detail
                        if not up:
                            raise StepFailed("", "\n".join([*lines, "dhcpd does not run."]))
                        lines.append("dhcpd runs.")
        except StepFailed as again:
            restored_ok = False
            notes.append(f"The restore failed at '{again.step}': {again.output}")
        except Exception as exc:  # noqa: BLE001 - connect failed: say so
            restored_ok = False
            notes.append(f"The restore could not connect: {exc}")
        where = f"Step '{failure.step}' failed on {self.server.name}: {failure.output.strip()}"
        if restored_ok:
            if state.replaced:
                tail = "The previous file was restored (byte-identical), dhcpd restarted and runs."
            else:
                tail = "The live file was not changed; dhcpd runs."
        else:
            tail = "ATTENTION: " + " ".join(notes)
        self.dep.failed_step = failure.step
        self.dep.outcome = _cut(hide_secrets(f"{where}\n{tail}", self.server))


def _show(argv: list[str]) -> str:
    try:
        return str(_ssh().quote_argv(argv))
    except Exception:  # noqa: BLE001 - only for display
        return " ".join(argv)


def peer_state(server: DhcpServer, name: str, *, timeout: float = 5.0) -> tuple[str | None, str]:
    """The local failover state of ``name`` on ``server`` over OMAPI (with the server's OMAPI
    key when it has one), by name, or (None, why not)."""
    reading = read_peer(server, name, timeout=timeout)
    if reading.status != "ok":
        return None, f"{reading.status}: {reading.detail}"
    number = reading.values.get("local-state")
    return dhcpd_omapi.state_name(number if isinstance(number, int) else None), ""


def wait_normal(
    server: DhcpServer,
    name: str,
    bound: float,
    *,
    beat: Callable[[], None] | None = None,
) -> tuple[str | None, str, float]:
    """Read the state of ``name`` every second until it is normal or ``bound`` s passed."""
    started = time.monotonic()
    found, detail = None, ""
    while True:
        found, detail = peer_state(server, name, timeout=min(5.0, max(bound, 1.0)))
        waited = time.monotonic() - started
        if found == "normal" or waited >= bound:
            return found, detail, waited
        if beat is not None:
            beat()
        time.sleep(1.0)


def omapi_port_open(server: DhcpServer) -> tuple[bool, str]:
    port = server.omapi_port or 0
    try:
        with socket.create_connection((server.omapi_address, port), timeout=3):
            return True, f"{server.omapi_address}:{port} accepts connections"
    except OSError as exc:
        return False, f"{server.omapi_address}:{port}: {exc}"


def _refresh_drift(server: DhcpServer) -> None:
    """The server list's drift column says what the server runs now (the deploy part's
    drift check; a failure there never fails the deploy)."""
    try:
        importlib.import_module("failover.deploy.services").drift_check(server)
    except Exception:  # noqa: BLE001 - the next periodic check tries again
        pass


def execute_rollout(rollout_id: int, *, connect: Connect | None = None) -> str:
    """Run a queued rollout (the task's body; tests may pass their own ``connect``)."""
    claimed = Rollout.objects.filter(pk=rollout_id, status=DeployStatus.QUEUED).update(
        status=DeployStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "not queued"
    rollout = Rollout.objects.select_related("user").get(pk=rollout_id)
    deployments = list(rollout.deployments.select_related("server").order_by("position"))
    outcome = DeployStatus.SUCCEEDED
    messages = []
    for index, dep in enumerate(deployments):
        if outcome != DeployStatus.SUCCEEDED:
            Deployment.objects.filter(pk=dep.pk).update(
                status=DeployStatus.NOT_STARTED,
                finished_at=timezone.now(),
                outcome="Not started: the rollout stopped at an earlier server.",
            )
            continue
        now = timezone.now()
        Deployment.objects.filter(pk=dep.pk).update(
            status=DeployStatus.RUNNING, started_at=now, heartbeat=now
        )
        dep.refresh_from_db()
        runner = _Runner(
            dep, connect=connect or default_connect, last=index == len(deployments) - 1
        )
        try:
            ok = runner.run()
        except Exception as exc:  # noqa: BLE001 - never leave a deployment running
            ok = False
            dep.outcome = f"Internal error: {exc}"
        dep.status = DeployStatus.SUCCEEDED if ok else DeployStatus.FAILED
        if ok:
            dep.outcome = f"Deployed to {dep.server.name}."
        dep.finished_at = timezone.now()
        dep.save(
            update_fields=[
                "status",
                "outcome",
                "failed_step",
                "finished_at",
                "diff",
                "previous_sha256",
                "backup_path",
            ]
        )
        messages.append(dep.outcome)
        _refresh_drift(dep.server)
        verb = "Rolled back" if rollout.kind == "rollback" else "Deployed"
        _record(
            rollout.user,
            f"{rollout.kind}_{'done' if ok else 'failed'}",
            (f"{verb} {dep.server.name} (deployment #{dep.pk})." if ok else dep.outcome)[:2000],
        )
        if not ok:
            outcome = DeployStatus.FAILED
    Rollout.objects.filter(pk=rollout.pk).update(
        status=outcome, finished_at=timezone.now(), outcome="\n".join(messages)
    )
    return str(outcome)
