"""Issue 9: the import refuses only what the real ``dhcpd -t`` refuses.

What dhcpd accepts but dhcpadmin's own rules forbid is imported with the meaning dhcpd gives
it (server/confpars.c parse_failover_peer: a statement given again overrides the earlier
one; ``split`` and ``hba`` both set the hash bucket table, the last one counts; 0 is "not
given" for ports and the tuning numbers; failover.c: a secondary's ``mclt`` is used until
the primary connects and sends its own) and reported as a warning at its line. Each case is
checked against the daemon itself: it accepts the file as written and as rendered.
Comments are kept with the statement after them and written back there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.importer import desired_state
from failover.dhcpd.parser import ParseError, parse_text
from failover.dhcpd.render import render_server
from failover.models import AddressPool, DhcpServer, FailoverPeer
from tests.conftest import require_binary
from tests.dhcpd.comments import anchors, missing
from tests.dhcpd.test_import_property import configs

pytestmark = pytest.mark.django_db

HBA = ":".join(["ff"] * 16 + ["00"] * 16)
TAIL = """subnet 10.0.1.0 netmask 255.255.255.0 {
  pool { failover peer "p"; range 10.0.1.10 10.0.1.20; }
}
"""


def peer_file(body: str) -> str:
    return f'failover peer "p" {{\n{body}\n}}\n' + TAIL


BASE = "address 10.0.0.1;\npeer address 10.0.0.2;\nmax-response-delay 60;\nmax-unacked-updates 10;"

# case: (peer body, {field: stored value}, verbatim statements of the peer, warning lines)
ACCEPTED = {
    "mclt on a secondary": (
        f"secondary;\n{BASE}\nmclt 3600;",
        {"role": "secondary", "mclt": None, "split": None},
        ["mclt 3600;"],
        [1],
    ),
    "port given twice (a typo for peer port)": (
        f"primary;\n{BASE}\nport 647;\nport 648;\nmclt 3600;\nsplit 128;",
        {"port": 648, "peer_port": 647},
        [],
        [8],
    ),
    "split, then hba": (
        f"primary;\n{BASE}\nmclt 3600;\nsplit 128;\nhba {HBA};",
        {"split": None, "hba": HBA},
        [],
        [9],
    ),
    "hba, then split": (
        f"primary;\n{BASE}\nmclt 3600;\nhba {HBA};\nsplit 200;",
        {"split": 200, "hba": ""},
        [],
        [9],
    ),
    "role given twice": (
        f"secondary;\nprimary;\n{BASE}\nmclt 3600;\nsplit 128;",
        {"role": "primary", "mclt": 3600},
        [],
        [3],
    ),
    "no max-response-delay, no max-unacked-updates": (
        "primary;\naddress 10.0.0.1;\npeer address 10.0.0.2;\nmclt 3600;\nsplit 128;",
        {"max_response_delay": 20, "max_unacked_updates": 100},
        [],
        [1, 1],
    ),
    "port 0 and max-lease-misbalance 0 (dhcpd's defaults)": (
        f"primary;\n{BASE}\npeer port 0;\nmax-lease-misbalance 0;\nmclt 3600;\nsplit 128;",
        {"peer_port": 647, "max_lease_misbalance": 15},
        [],
        [7, 8],
    ),
    "mclt 0 on a secondary (no mclt)": (
        f"secondary;\n{BASE}\nmclt 0;",
        {"role": "secondary", "mclt": None},
        [],
        [7],
    ),
}

# What dhcpd refuses stays refused (at the token where dhcpd complains).
REFUSED = {
    "split on a secondary": (f"secondary;\n{BASE}\nsplit 128;", (7, 1), "a secondary may not"),
    "secondary after split": (f"split 128;\nsecondary;\n{BASE}", (3, 1), "a secondary may not"),
    "hba on a secondary": (f"secondary;\n{BASE}\nhba {HBA};", (7, 1), "a secondary may not"),
    "primary with mclt 0": (
        f"primary;\n{BASE}\nmclt 0;\nsplit 128;",
        (9, 1),
        "a primary needs 'mclt'",
    ),
    "primary without split or hba": (f"primary;\n{BASE}\nmclt 60;", (8, 1), "needs 'split'"),
}


def run_dhcpd(text: str) -> bool:
    return check_config(text, dhcpd_path=require_binary("dhcpd")).ok


def new_server(name: str = "imp") -> DhcpServer:
    return services.server_create(name=name, address="10.0.0.1")


@pytest.mark.dhcpd
@pytest.mark.parametrize("case", sorted(ACCEPTED), ids=str)
def test_what_dhcpd_accepts_imports_with_dhcpds_meaning_and_a_warning(case):
    body, fields, verbatim, warning_lines = ACCEPTED[case]
    text = peer_file(body)
    assert run_dhcpd(text), "dhcpd itself accepts the file"
    server = new_server()
    plan = services.config_import(server=server, text=text, filename="t.conf")
    peer = FailoverPeer.objects.get(server=server, name="p")
    assert {name: getattr(peer, name) for name in fields} == fields
    assert [e[1] for e in sorted(peer.statements)] == verbatim
    # A warning at its line that says what dhcpadmin does (each is "t.conf, line L, ...").
    assert [int(w.split(", line ")[1].split(",")[0]) for w in plan.warnings] == warning_lines
    assert all("dhcpadmin" in w for w in plan.warnings)
    rendered = render_server(server)
    assert run_dhcpd(rendered), rendered
    # The rendered file means the same, and importing it again changes nothing.
    assert desired_state(parse_text(rendered)) == desired_state(parse_text(text))
    assert services.config_import_plan(server=server, text=rendered).is_empty


def test_a_secondarys_mclt_is_written_back_in_its_peer():
    server = new_server()
    services.config_import(server=server, text=peer_file(ACCEPTED["mclt on a secondary"][0]))
    rendered = render_server(server)
    peer_block = rendered[rendered.index('failover peer "p" {') :].split("}")[0]
    assert "  secondary;\n" in peer_block and "  mclt 3600;\n" in peer_block


@pytest.mark.dhcpd
@pytest.mark.parametrize("case", sorted(REFUSED), ids=str)
def test_what_dhcpd_refuses_is_refused_at_its_line(case):
    body, (line, column), message = REFUSED[case]
    text = peer_file(body)
    assert not run_dhcpd(text), "dhcpd refuses it too"
    with pytest.raises(ParseError) as info:
        parse_text(text, filename="t.conf")
    assert (info.value.line, info.value.column) == (line, column)
    assert message in info.value.message


def test_a_pool_naming_two_peers_gets_the_last_one_with_a_warning():
    peers = "".join(
        f'failover peer "{name}" {{ primary; address 10.0.0.1; peer address {partner};\n'
        "  max-response-delay 5; max-unacked-updates 5; mclt 60; split 1; }\n"
        for name, partner in (("a", "10.0.0.2"), ("b", "10.0.0.3"))
    )
    text = peers + (
        "subnet 10.0.1.0 netmask 255.255.255.0 {\n"
        '  pool { failover peer "a"; range 10.0.1.10 10.0.1.20; }\n'
        '  pool { failover peer "a";\n    failover peer "b"; range 10.0.1.30 10.0.1.40; }\n}\n'
    )
    assert run_dhcpd(text)
    server = new_server()
    plan = services.config_import(server=server, text=text, filename="t.conf")
    assert AddressPool.objects.get(first_address="10.0.1.30").failover_peer.name == "b"
    assert plan.warnings == [
        't.conf, line 8, column 19: this pool already refers to failover peer "a"; dhcpd uses '
        'the last one, "b", so dhcpadmin keeps only that one'
    ]
    assert run_dhcpd(render_server(server))


# --- comments ------------------------------------------------------------------------------

COMMENTED = """# The office DHCP server.
# Second line of the header.

authoritative;   # trailing: belongs to what follows
omapi-port 7911;
# the pair
failover peer "p" {
  # we are the primary
  primary;
  address 10.0.0.1;
  peer address 10.0.0.2;
  # tuning
  max-response-delay 60;
  max-unacked-updates 10;
  mclt 3600;
  split 128;
  peer max-response-delay 30;
  # end of the peer
}
# Staff
subnet 10.0.1.0 netmask 255.255.255.0 {
  # the gateway
  option routers 10.0.1.1;
  # printers
  host printer { hardware ethernet 00:16:3e:00:00:01; # inside a host
  }
  # the pool
  pool {
    # its peer
    failover peer "p";
    # first range
    range 10.0.1.10 10.0.1.20;
    # second range
    range 10.0.1.30;
    # end of the pool
  }
  # a bare range
  range 10.0.1.40 10.0.1.49;
  # end of the subnet
}
shared-network wing {
  # a subnet in a shared network
  subnet 10.0.2.0 netmask 255.255.255.0 { range 10.0.2.10 10.0.2.20; }
  # end of the shared network
}
if option user-class = "x" {
  # in the if
  filename "a";
}
# before else
else {
  filename "b";
}
# the end of the file
"""


@pytest.mark.dhcpd
def test_every_comment_comes_back_before_the_same_statement():
    server = new_server()
    plan = services.config_import(server=server, text=COMMENTED, filename="c.conf")
    rendered = render_server(server)
    assert run_dhcpd(rendered), rendered
    original = parse_text(COMMENTED)
    assert len(anchors(original)) >= 20
    assert missing(original, parse_text(rendered)) == []
    # The rendered file imported again changes nothing, so comments never pile up.
    assert services.config_import_plan(server=server, text=rendered).is_empty
    assert render_server(server) == rendered
    # The preview (the plan) shows them with their statements.
    kept = "\n".join(t for k in plan.kept for t in k.statements)
    for comment in ("# Staff", "# the pool", "# first range", "# we are the primary", "# printers"):
        assert comment in kept


def test_range_with_one_address_comes_back_as_written():
    server = new_server()
    text = (
        "subnet 10.0.1.0 netmask 255.255.255.0 {\n  range 10.0.1.5;\n"
        "  pool { range 10.0.1.9; }\n}\n"
    )
    services.config_import(server=server, text=text)
    rendered = render_server(server)
    assert "  range 10.0.1.5;\n" in rendered and "    range 10.0.1.9;\n" in rendered
    assert " 10.0.1.5 10.0.1.5" not in rendered


def test_the_command_prints_the_warnings_at_their_lines(tmp_path, capsys):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(peer_file(ACCEPTED["mclt on a secondary"][0]))
    call_command("import_dhcpd_conf", str(conf), "--server", "sec", "--create", "--dry-run")
    out = capsys.readouterr().out
    assert "Warnings (1: dhcpd accepts these; what dhcpadmin does):" in out
    assert f"  {conf}, line 1, column 1: failover peer \"p\": 'mclt 3600' on a secondary" in out


def test_the_preview_page_shows_the_warnings_and_the_comments(admin_client):
    from django.urls import reverse

    server = new_server()
    text = "# about the peer\n" + peer_file(ACCEPTED["port given twice (a typo for peer port)"][0])
    response = admin_client.post(
        reverse("failover:server_import", args=[server.pk]), {"step": "preview", "text": text}
    )
    page = response.content.decode()
    assert 'data-testid="import-warnings"' in page
    assert "line 9, column 1: failover peer &quot;p&quot;: &#x27;port&#x27; is given again" in page
    assert "# about the peer" in page


# --- generated accepted-but-unusual forms ---------------------------------------------------

NUMBERS = {
    "port": st.sampled_from([0, 647, 519, 8000]),
    "peer port": st.sampled_from([0, 647, 520]),
    "max-response-delay": st.sampled_from([0, 5, 60]),
    "max-unacked-updates": st.sampled_from([0, 10, 100]),
    "mclt": st.sampled_from([0, 60, 3600]),
    "load balance max seconds": st.sampled_from([0, 3, 5]),
    "max-lease-misbalance": st.sampled_from([0, 15, 40]),
    "min-balance": st.sampled_from([0, 60, 300]),
}
DEFAULTS = {
    "port": 647,
    "peer port": 647,
    "max-response-delay": 20,
    "max-unacked-updates": 100,
    "max-lease-misbalance": 15,
    "min-balance": 60,
}
FIELDS = {
    "port": "port",
    "peer port": "peer_port",
    "max-response-delay": "max_response_delay",
    "max-unacked-updates": "max_unacked_updates",
    "mclt": "mclt",
    "load balance max seconds": "load_balance_max_seconds",
    "max-lease-misbalance": "max_lease_misbalance",
    "min-balance": "min_balance",
}


@st.composite
def unusual_peers(draw):
    """A failover peer dhcpd accepts, written unusually: statements repeated and in any
    order, mclt on a secondary, split and hba together, 0 for defaults, comments between
    statements, an option space beside it. Returns (text, what dhcpd makes of the peer)."""
    secondary = draw(st.booleans())
    statements: list[tuple[str, str]] = [("address", "10.0.0.1"), ("peer address", "10.0.0.2")]
    for keyword in draw(st.lists(st.sampled_from(sorted(NUMBERS)), max_size=8)):
        statements.append((keyword, str(draw(NUMBERS[keyword]))))
    if not secondary:
        statements.append(("mclt", str(draw(st.sampled_from([60, 3600])))))
        for _ in range(draw(st.integers(1, 3))):
            if draw(st.booleans()):
                statements.append(("split", str(draw(st.integers(0, 256)))))
            else:
                statements.append(("hba", HBA))
    statements = draw(st.permutations(statements))
    if not secondary:  # the last mclt must not be 0 (dhcpd refuses a primary without)
        statements.append(("mclt", "600"))
    role = "secondary" if secondary else draw(st.sampled_from(["primary", None]))
    if role is not None:  # first (dhcpd refuses 'secondary' after split/hba), maybe twice
        statements.insert(0, ("", role))
        if draw(st.booleans()):
            statements.insert(draw(st.integers(0, len(statements))), ("", role))
    lines = []
    for i, (keyword, value) in enumerate(statements):
        if draw(st.booleans()):
            lines.append(f"# c{i}")
        lines.append(f"{keyword} {value};" if keyword else f"{value};")
    # What dhcpd makes of it: the last value of each statement; split/hba: the last one.
    expect: dict[str, object] = {"role": role or "primary"}
    for keyword, value in statements:
        if keyword in ("split", "hba"):
            expect["split"] = int(value) if keyword == "split" else None
            expect["hba"] = value if keyword == "hba" else ""
        elif keyword in FIELDS:
            number: int | None = int(value)
            if number == 0 and keyword == "mclt":
                number = None  # mclt 0 is no mclt
            elif number == 0 and keyword in DEFAULTS:
                number = DEFAULTS[keyword]
            expect[FIELDS[keyword]] = number
    for keyword in ("max-response-delay", "max-unacked-updates", "port", "peer port"):
        expect.setdefault(FIELDS[keyword], DEFAULTS[keyword])
    verbatim = []
    if secondary and expect.get("mclt"):
        verbatim = [f"mclt {expect['mclt']};"]
        expect["mclt"] = None
    space = draw(st.booleans())
    head = "option space acme;\noption acme.server code 1 = ip-address;\n" if space else ""
    pool_extra = "  vendor-option-space acme;\n  option acme.server 10.0.1.1;\n" if space else ""
    text = (
        head
        + 'failover peer "p" {\n'
        + "\n".join(lines)
        + "\n}\n"
        + "subnet 10.0.1.0 netmask 255.255.255.0 {\n"
        + pool_extra
        + '  pool { failover peer "p"; range 10.0.1.10 10.0.1.20; }\n}\n'
    )
    return text, expect, verbatim


@pytest.mark.dhcpd
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=unusual_peers())
def test_generated_unusual_peers_import_as_dhcpd_reads_them(db, case):
    text, expect, verbatim = case
    assert run_dhcpd(text), f"the generator wrote a file dhcpd refuses:\n{text}"

    def check():
        server = new_server("gen")
        services.config_import(server=server, text=text, filename="gen.conf")
        peer = FailoverPeer.objects.get(server=server, name="p")
        assert {k: getattr(peer, k) for k in expect} == expect, text
        statements = [e[1].split("\n")[-1] for e in sorted(peer.statements)]  # no comments
        assert statements == verbatim
        rendered = render_server(server)
        assert run_dhcpd(rendered), f"{rendered}\n--- from:\n{text}"
        assert desired_state(parse_text(rendered)) == desired_state(parse_text(text))
        comments = {c for c, _ in anchors(parse_text(text))}
        assert comments <= {c for c, _ in anchors(parse_text(rendered))}
        assert services.config_import_plan(server=server, text=rendered).is_empty

    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


class _Rollback(Exception):
    pass


# --- the corpus: every comment back before the same statement --------------------------------

CORPUS_FILES = sorted((Path(__file__).parent / "corpus" / "good").glob("*.conf"))


@pytest.mark.parametrize("conf", CORPUS_FILES, ids=lambda p: p.name)
def test_every_comment_of_the_corpus_comes_back_before_the_same_statement(conf):
    from failover.dhcpd.parser import parse_file

    original = parse_file(conf)
    server = new_server()
    services.config_import(server=server, tree=parse_file(conf), filename=conf.name)
    rendered = parse_text(render_server(server))
    assert missing(original, rendered) == []
    if conf.read_text().count("#") > 2:  # (a '#' inside a string is no comment)
        assert anchors(original)


KEPT_SUBNETS = {
    "a /32 subnet": ("subnet 10.0.9.1 netmask 255.255.255.255 { }\n", "a /32 network"),
    "a /31 subnet": ("subnet 10.0.9.0 netmask 255.255.255.254 { }\n", "a /31 network"),
    "a subnet declared twice": (
        'subnet 10.0.1.0 netmask 255.255.255.0 { option domain-name "a.example"; }\n',
        "declared twice (first at line 10)",
    ),
    "a subnet inside an earlier one": (
        "subnet 10.0.1.128 netmask 255.255.255.128 { }\n",
        "inside an earlier subnet (line 10)",
    ),
    "a subnet around an earlier one": (
        "subnet 10.0.0.0 netmask 255.255.0.0 { }\n",
        "around an earlier subnet (line 10)",
    ),
}


@pytest.mark.dhcpd
@pytest.mark.parametrize("case", sorted(KEPT_SUBNETS), ids=str)
def test_a_subnet_without_pools_the_model_cannot_hold_is_kept_verbatim(case):
    extra, why = KEPT_SUBNETS[case]
    text = peer_file(f"primary;\n{BASE}\nmclt 3600;\nsplit 128;") + extra
    assert run_dhcpd(text)
    server = new_server()
    plan = services.config_import(server=server, text=text, filename="t.conf")
    assert len(plan.warnings) == 1 and "line 13, column 1: subnet" in plan.warnings[0]
    assert why in plan.warnings[0] and "verbatim" in plan.warnings[0]
    assert server.scopes.count() == 1
    rendered = render_server(server)
    assert run_dhcpd(rendered), rendered
    assert extra.split("{")[0] in rendered  # written back at its place
    assert desired_state(parse_text(rendered)) == desired_state(parse_text(text))
    assert services.config_import_plan(server=server, text=rendered).is_empty


def test_a_comment_with_a_lone_carriage_return_stays_one_comment():
    text = "# old\rmac line\r\nauthoritative;\r\n# end\r\n"
    server = new_server()
    services.config_import(server=server, text=text)
    rendered = render_server(server)
    assert "# old\\x0dmac line\nauthoritative;\n" in rendered and rendered.endswith("# end\n")


@st.composite
def commented_configs(draw):
    """The generated files of test_import_property (shared-networks with their peer,
    groups, pools with several ranges, bare and dynamic-bootp ranges, no failover peer,
    hosts, ...) with comments at random line starts and at the end."""
    lines = draw(configs()).split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.strip() and draw(st.integers(0, 3)) == 0:
            out.append(f"# g{i}")
        out.append(line)
    out.append("# the end")
    return "\n".join(out) + "\n"


@pytest.mark.dhcpd
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=commented_configs())
def test_generated_files_keep_every_comment_before_the_same_statement(db, text):
    def check():
        server = new_server("gen")
        services.config_import(server=server, text=text, filename="gen.conf")
        rendered = render_server(server)
        assert run_dhcpd(rendered), rendered
        assert missing(parse_text(text), parse_text(rendered)) == [], rendered
        assert services.config_import_plan(server=server, text=rendered).is_empty
        assert render_server(server) == rendered

    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass
