"""The dhcpd.conf tokenizer and parser: each construct, typed fields, canonical text and
the round trip parse -> to_text -> parse. No Django, no database."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.dhcpd.ast import (
    AllowDeny,
    Block,
    Class,
    Conditional,
    Config,
    FailoverPeer,
    FailoverPeerRef,
    Group,
    Host,
    Key,
    OptionDefinition,
    OptionSetting,
    OptionSpace,
    Pool,
    Range,
    SharedNetwork,
    Statement,
    Subclass,
    Subnet,
    Zone,
    walk,
)
from failover.dhcpd.parser import ParseError, parse_bytes, parse_text, to_text
from failover.dhcpd.tokenizer import EOF, PUNCT, STRING, WORD, join_tokens, quote, tokenize

PEER = """
failover peer "pair" {
    primary;
    address 192.0.2.1;
    peer address 192.0.2.2;
    max-response-delay 60;
    max-unacked-updates 10;
    mclt 3600;
    split 128;
}
"""


def parse(text: str) -> Config:
    return parse_text(text, filename="t.conf")


def only(text: str):
    config = parse(text)
    assert len(config.statements) == 1, config.statements
    return config.statements[0]


def error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    return info.value


def roundtrip(config: Config) -> None:
    text = to_text(config)
    again = parse(text)
    assert again == config
    assert to_text(again) == text  # canonical text is a fixed point


# --------------------------------------------------------------------------- tokenizer


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.value) for t in tokenize(text) if t.kind != EOF]


def test_it_skips_comments_but_not_inside_strings():
    assert kinds('a "b # c" # d "e"\nf') == [
        (WORD, "a"),
        (STRING, "b # c"),
        (WORD, "f"),
    ]


def test_it_decodes_every_string_escape():
    (tok,) = [t for t in tokenize(r'"t\tr\rn\nb\bq\"s\\o\101x\x42z\q"') if t.kind == STRING]
    assert tok.value == 't\tr\rn\nb\bq"s\\oAxBzq'


def test_it_requotes_strings_canonically():
    assert quote('say "hi"\\\n') == r'"say \"hi\"\\\n"'
    assert quote("plain text") == '"plain text"'
    assert quote("bell\x07") == r'"bell\x07"'


def test_it_keeps_non_utf8_bytes_from_escapes_exactly():
    (tok,) = [t for t in tokenize(r'"\xff\303\251"') if t.kind == STRING]
    assert tok.value.encode("utf-8", "surrogateescape") == b"\xff\xc3\xa9"
    assert quote(tok.value) == r'"\xffé"'
    (again,) = [t for t in tokenize(quote(tok.value)) if t.kind == STRING]
    assert again.value == tok.value


def test_it_reports_line_and_column_with_crlf_and_tabs():
    toks = list(tokenize("a;\r\n\tb c;\r\n"))
    assert [(t.value, t.line, t.column) for t in toks if t.kind == WORD] == [
        ("a", 1, 1),
        ("b", 2, 2),
        ("c", 2, 4),
    ]


def test_it_counts_lines_inside_multi_line_strings():
    toks = list(tokenize('"a\nb\nc" d'))
    assert (toks[1].value, toks[1].line, toks[1].column) == ("d", 3, 4)


def test_it_keeps_addresses_and_hex_as_one_word():
    assert kinds("10.0.0.1 00:16:3e:00:00:01 2001:db8::1") == [
        (WORD, "10.0.0.1"),
        (WORD, "00:16:3e:00:00:01"),
        (WORD, "2001:db8"),
        (PUNCT, ":"),
        (PUNCT, ":"),
        (WORD, "1"),
    ]


def test_it_joins_tokens_with_canonical_spacing():
    toks = [t for t in tokenize('f ( a ,b,"c" )  = x . y ;') if t.kind != EOF]
    # no space after '(' or before ',' ')' ';', always one after ',', else as written
    assert join_tokens(toks) == 'f (a, b, "c") = x . y;'
    # adjacent tokens stay adjacent: re-tokenizing the text gives the same tokens
    assert [t for t in tokenize(join_tokens(toks)) if t.kind != EOF] == toks


def test_keywords_are_case_insensitive():
    subnet = only("SUBNET 10.0.0.0 NetMask 255.255.255.0 { RANGE 10.0.0.5 10.0.0.9; }")
    assert isinstance(subnet, Subnet)
    assert subnet.ranges[0].first == ipaddress.IPv4Address("10.0.0.5")


def test_several_statements_per_line_and_one_over_several_lines():
    config = parse('option a 1; option b 2;\noption\n  c\n  "x"\n;')
    assert [s.name for s in config.statements] == ["a", "b", "c"]
    assert [s.line for s in config.statements] == [1, 1, 2]
    assert config.statements[2].value[0].value == "x"


# --------------------------------------------------------------------------- failover


FULL_PEER = """
failover peer "full" {
    primary;
    address 192.0.2.1;
    port 519;
    peer address dhcp-b.example.com;
    peer port 520;
    max-response-delay 30;
    max-unacked-updates 10;
    mclt 1800;
    split 256;
    load balance max seconds 5;
    auto-partner-down 300;
    max-lease-misbalance 15;
    max-lease-ownership 10;
    min-balance 60;
    max-balance 3600;
    peer max-response-delay 45;
}
"""


def test_failover_peer_every_statement_is_a_typed_field():
    peer = only(FULL_PEER)
    assert isinstance(peer, FailoverPeer)
    assert peer == FailoverPeer(
        name="full",
        role="primary",
        address="192.0.2.1",
        port=519,
        peer_address="dhcp-b.example.com",
        peer_port=520,
        max_response_delay=30,
        max_unacked_updates=10,
        mclt=1800,
        split=256,
        hba=None,
        load_balance_max_seconds=5,
        auto_partner_down=300,
        max_lease_misbalance=15,
        max_lease_ownership=10,
        min_balance=60,
        max_balance=3600,
        extra=peer.extra,
    )
    assert [s.text for s in peer.extra] == ["peer max-response-delay 45;\n"]
    assert (peer.file, peer.line, peer.column) == ("t.conf", 2, 1)
    roundtrip(parse(FULL_PEER))


def test_failover_peer_hba_is_normalized_and_a_secondary_needs_no_mclt():
    hba = ":".join(["f"] * 16 + ["0"] * 16)
    config = parse(
        f"failover peer p1 {{ primary; peer address 10.0.0.2; mclt 60; hba {hba}; }}\n"
        'failover peer "p2" { secondary; peer address 10.0.0.1; }\n'
    )
    p1, p2 = config.statements
    assert p1.hba == ":".join(["0f"] * 16 + ["00"] * 16)
    assert (p2.role, p2.mclt, p2.split, p2.hba) == ("secondary", None, None, None)
    roundtrip(config)


def test_a_hostile_peer_name_stays_one_quoted_string():
    name = 'x"; } subnet 10.9.0.0 netmask 255.255.255.0 { #\\'
    config = parse(
        f"failover peer {quote(name)} {{ primary; peer address 10.0.0.2; mclt 1; split 1; }}\n"
        f"subnet 10.0.0.0 netmask 255.0.0.0 {{ pool {{ failover peer {quote(name)}; "
        "range 10.0.0.5; } }\n"
    )
    assert config.statements[0].name == name
    assert config.statements[1].pools[0].failover_peer == name
    assert [type(s).__name__ for s in config.statements] == ["FailoverPeer", "Subnet"]
    roundtrip(config)


def test_pool_refers_to_a_declared_peer():
    config = parse(
        PEER + "subnet 10.0.0.0 netmask 255.255.255.0 {\n"
        '  pool { failover peer "pair"; range 10.0.0.10 10.0.0.20; deny unknown-clients; }\n'
        "}\n"
    )
    pool = config.statements[1].pools[0]
    assert pool.failover_peer == "pair"
    assert [type(s) for s in pool.statements] == [Range, AllowDeny]
    assert pool.ranges[0].end == ipaddress.IPv4Address("10.0.0.20")
    roundtrip(config)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("foo 1;", "unknown failover peer statement 'foo'"),
        ("peer foo 1;", "unknown failover peer statement 'peer foo'"),
        ("mclt ten;", "expected a number after 'mclt', found 'ten'"),
        ("mclt -1;", "expected a number after 'mclt', found '-1'"),
        ("port 70000;", "'port' must be between 1 and 65535, not 70000"),
        ("split 257;", "'split' must be between 0 and 256, not 257"),
        ("hba ff:ff;", "hba must be exactly 32 colon-separated bytes, found 2"),
        ("hba fff:ff;", "invalid hba byte 'fff' (hex, e.g. ff)"),
        ("load balance seconds 3;", "expected 'max' after 'load balance', found 'seconds'"),
        ("address 10.0.0.256;", "invalid IPv4 address '10.0.0.256': 256 is not in the range"),
        ("address a:b;", "expected an IPv4 address or host name after 'address', found 'a:b'"),
        ("split 1; secondary;", 'failover peer "x": a secondary may not define load balance'),
        ("secondary; hba 1;", 'failover peer "x": a secondary may not define load balance'),
        (
            "max-response-delay 60 max-unacked-updates 10;",
            "expected ';' after 'max-response-delay 60', found 'max-unacked-updates'",
        ),
    ],
)
def test_failover_peer_statement_errors(statement, message):
    err = error(f'failover peer "x" {{ {statement} }}')
    assert err.message.startswith(message), err.message
    assert err.line == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("primary; mclt 1; split 1;", "failover peer \"x\" has no 'peer address'"),
        ("primary; peer address 10.0.0.2; split 1;", "a primary needs 'mclt'"),
        ("primary; peer address 10.0.0.2; mclt 1;", "a primary needs 'split' or 'hba'"),
        ("peer address 10.0.0.2; mclt 1;", "a peer without a role is a primary and needs"),
        ("primary; peer address 10.0.0.2; mclt 0; split 1;", "a primary needs 'mclt'"),
    ],
)
def test_failover_peer_requirements_dhcpd_checks_while_parsing(body, message):
    err = error(f'failover peer "x" {{\n{body}\n}}')
    assert message in err.message
    assert (err.line, err.column) == (3, 1)  # at the closing brace, like dhcpd


def test_failover_peer_reference_in_a_shared_network_is_inherited_by_its_pools():
    config = parse(
        PEER + 'shared-network "s" {\n  failover peer "pair";\n'
        "  subnet 10.0.0.0 netmask 255.255.255.0 { }\n"
        "  pool { range 10.0.0.5 10.0.0.9; }\n"
        "  pool { no failover peer range dynamic-bootp 10.0.0.20 10.0.0.29; }\n}\n"
    )
    shared = config.statements[1]
    assert isinstance(shared.statements[0], FailoverPeerRef)
    plain, cancelled = shared.statements[2], shared.statements[3]
    assert (plain.failover_peer, plain.no_failover_peer) == (None, False)
    assert (cancelled.failover_peer, cancelled.no_failover_peer) == (None, True)
    assert "no failover peer\n" in to_text(cancelled)
    roundtrip(config)
    err = error(
        PEER + 'shared-network "s" { failover peer "pair";\n'
        "subnet 10.0.0.0 netmask 255.255.255.0 { }\n"
        "pool { range dynamic-bootp 10.0.0.5 10.0.0.9; } }"
    )
    assert err.message.startswith("range dynamic-bootp is not allowed in a pool with failover")


def test_last_failover_peer_statement_of_a_pool_wins_over_no_failover_peer():
    config = parse(
        PEER + "subnet 10.0.0.0 netmask 255.255.255.0 {\n"
        '  pool { no failover peer failover peer "pair"; range 10.0.0.5 10.0.0.9; }\n}\n'
    )
    pool = config.statements[1].pools[0]
    assert (pool.failover_peer, pool.no_failover_peer) == ("pair", False)
    roundtrip(config)


def test_failover_peer_references_are_checked():
    assert error(
        'subnet 10.0.0.0 netmask 255.255.255.0 { pool { failover peer "nope"; range 10.0.0.5; } }'
    ).message.startswith('unknown failover peer "nope"')
    assert (
        error(
            PEER + "subnet 10.0.0.0 netmask 255.255.255.0 { pool { failover peer pair; } }"
        ).message
        == "expected the failover peer name as a quoted string, found 'pair'"
    )
    assert error(
        PEER + 'subnet 10.0.0.0 netmask 255.255.255.0 { failover peer "pair"; }'
    ).message.startswith("'failover peer \"pair\";' is not allowed inside 'subnet")


# --------------------------------------------------------------------------- networks


def test_subnet_shared_network_group_pool_range():
    config = parse(
        'shared-network "campus" {\n'
        '  option domain-name "c.example";\n'
        "  subnet 10.1.0.0 netmask 255.255.0.0 { option routers 10.1.0.1; }\n"
        "  subnet 10.2.0.0 netmask 255.255.255.128 {\n"
        "    range dynamic-bootp 10.2.0.5 10.2.0.9;\n"
        "    range 10.2.0.12;\n"
        "  }\n"
        "  pool { range 10.1.0.10 10.1.0.20; range 10.2.0.20 10.2.0.30; }\n"
        "}\n"
        "group { subnet 10.3.0.0 netmask 255.255.255.0 { } }\n"
        "group named { }\n"
        'group "quoted name" { }\n'
    )
    shared, group, named, quoted = config.statements
    assert isinstance(shared, SharedNetwork)
    assert (shared.name, shared.quoted) == ("campus", True)
    s1, s2 = [s for s in shared.statements if isinstance(s, Subnet)]
    assert str(s1.cidr) == "10.1.0.0/16" and str(s2.cidr) == "10.2.0.0/25"
    assert s2.ranges == [
        Range(ipaddress.IPv4Address("10.2.0.5"), ipaddress.IPv4Address("10.2.0.9"), True),
        Range(ipaddress.IPv4Address("10.2.0.12"), None, False),
    ]
    pool = shared.statements[-1]
    assert isinstance(pool, Pool) and len(pool.ranges) == 2
    assert isinstance(group, Group) and group.name is None
    assert isinstance(group.statements[0], Subnet)
    assert (named.name, named.quoted) == ("named", False)
    assert (quoted.name, quoted.quoted) == ("quoted name", True)
    text = to_text(config)
    assert "range dynamic-bootp 10.2.0.5 10.2.0.9;\n" in text
    assert "range 10.2.0.12;\n" in text
    roundtrip(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("subnet 10.0.0.1 netmask 255.255.255.0 { }", "the subnet number has host bits set"),
        ("subnet 10.0.0.0 netmask 255.0.255.0 { }", "netmask 255.0.255.0 is not contiguous"),
        ("subnet 10.0.0 netmask 255.255.255.0 { }", "expected an IPv4 address after 'subnet'"),
        ("subnet 10.0.0.0 mask 255.255.255.0 { }", "expected 'netmask' after 'subnet 10.0.0.0'"),
        ("subnet 10.0.0.0 netmask 255.255.255.0 ;", "expected '{' after 'subnet 10.0.0.0"),
        (
            "subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.1.1; }",
            "range 10.0.1.1: the range is not inside subnet 10.0.0.0/24",
        ),
        ("subnet 10.0.0.0 netmask 255.255.255.0 { pool { } }", "a pool needs at least one range"),
        (
            "subnet 10.0.0.0 netmask 255.255.255.0 { subnet 10.0.0.0 netmask 255.255.255.0 {} }",
            "a subnet declaration is not allowed inside 'subnet 10.0.0.0 netmask 255.255.255.0'",
        ),
        ("group { pool { range 10.0.0.1; } }", "a pool declaration is not allowed inside 'group'"),
        ("range 10.0.0.1;", "a range statement is not allowed at the top level"),
        (
            'shared-network "s" { pool { range 10.0.0.1; } subnet 10.0.0.0 netmask 255.0.0.0 {} }',
            "range 10.0.0.1: the range is not inside any subnet declared before it in "
            'shared-network "s"',
        ),
        ("host h { shared-network s { } }", "a shared-network declaration is not allowed inside"),
    ],
)
def test_network_errors(text, message):
    assert message in error(text).message


# --------------------------------------------------------------------------- other decls


def test_host_class_subclass():
    config = parse(
        "host ws-1.example.com { hardware ethernet 00:16:3e:00:00:01; fixed-address 10.0.0.5; }\n"
        'class "phones" { match if substring (option vendor-class-identifier, 0, 4) = "SIP/"; }\n'
        'subclass "phones" 1:00:16:3e:00:00:02;\n'
        'subclass "phones" "vendor x" { option domain-name "x.example"; }\n'
    )
    host, cls, sub1, sub2 = config.statements
    assert isinstance(host, Host) and host.name == "ws-1.example.com"
    assert [s.text for s in host.statements] == [
        "hardware ethernet 00:16:3e:00:00:01;\n",
        "fixed-address 10.0.0.5;\n",
    ]
    assert isinstance(cls, Class) and cls.name == "phones"
    assert cls.statements[0].text == (
        'match if substring (option vendor-class-identifier, 0, 4) = "SIP/";\n'
    )
    assert isinstance(sub1, Subclass) and sub1.statements is None
    assert join_tokens(sub1.data) == "1:00:16:3e:00:00:02"
    assert sub2.data[0].value == "vendor x" and len(sub2.statements) == 1
    roundtrip(config)
    assert "expected the class name as a quoted string" in error("class phones { }").message
    assert "dhcpd does not accept a quoted name here" in error('host "h" { }').message


def test_conditionals_keep_their_expression_verbatim():
    config = parse(
        'if exists user-class and option user-class = "iPXE" { filename "a"; }\n'
        'elsif (substring(option vendor-class-identifier, 0, 9) = "PXEClient") { filename "b"; }\n'
        'else if not known { if option host-name ~~ "^x" { filename "c"; } }\n'
        'else { filename "d"; }\n'
    )
    cond = config.statements[0]
    assert isinstance(cond, Conditional)
    assert [b.kind for b in cond.branches] == ["if", "elsif", "elsif", "else"]
    assert join_tokens(cond.branches[0].condition) == (
        'exists user-class and option user-class = "iPXE"'
    )
    assert join_tokens(cond.branches[1].condition) == (
        '(substring(option vendor-class-identifier, 0, 9) = "PXEClient")'
    )
    assert isinstance(cond.branches[2].statements[0], Conditional)
    assert to_text(cond).startswith('if exists user-class and option user-class = "iPXE" {\n')
    assert "} elsif not known {\n" in to_text(cond)
    roundtrip(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("if { }", "expected a condition after 'if', found '{'"),
        ("if (a = b { }", "unbalanced '(' in 'if (a = b'"),
        ("if a = b) { }", "unbalanced ')'"),
        ("if a = b;", "expected '{' after 'if a = b', found ';'"),
        ("else { }", "'else' without a matching 'if'"),
        ("elsif a { }", "'elsif' without a matching 'if'"),
        ("if a { host h { } }", "a host declaration is not allowed inside 'if a'"),
    ],
)
def test_conditional_errors(text, message):
    assert error(text).message == message


def test_option_space_definitions_and_values():
    config = parse(
        "option space pxe code width 1 length width 1;\n"
        "option pxe.magic code 208 = string;\n"
        "option routes code 121 = array of { unsigned integer 8, ip-address };\n"
        "option pxe.magic f1:00:74:7e;\n"
        'option domain-name "example.com";\n'
        "option domain-name-servers 10.0.0.2,10.0.0.3;\n"
        "option pxe . magic 1:2;\n"
    )
    space, magic, routes, value, name, dns, spaced = config.statements
    assert isinstance(space, OptionSpace) and space.name == "pxe"
    assert join_tokens(space.rest) == "code width 1 length width 1"
    assert isinstance(magic, OptionDefinition)
    assert (magic.name, magic.code, join_tokens(magic.format)) == ("pxe.magic", 208, "string")
    assert join_tokens(routes.format) == "array of { unsigned integer 8, ip-address }"
    assert isinstance(value, OptionSetting) and value.value_text == "f1:00:74:7e"
    assert name.value[0].kind == STRING and name.value[0].value == "example.com"
    assert dns.value_text == "10.0.0.2, 10.0.0.3"
    assert spaced.name == "pxe.magic"
    roundtrip(config)
    assert (
        "only allowed at the top level"
        in error("subnet 10.0.0.0 netmask 255.0.0.0 { option x code 250 = text; }").message
    )
    assert error("option x code 250 text;").message == (
        "expected '=' after 'option x code 250', found 'text'"
    )


def test_allow_deny_ignore():
    config = parse(
        'allow booting; deny unknown-clients; ignore client-updates;\nallow members of "phones";'
    )
    assert [(s.action, s.subject_text) for s in config.statements] == [
        ("allow", "booting"),
        ("deny", "unknown-clients"),
        ("ignore", "client-updates"),
        ("allow", 'members of "phones"'),
    ]
    roundtrip(config)
    assert "'deny' needs what to deny" in error("deny;").message


def test_key_and_zone():
    config = parse(
        'key "ddns" { algorithm hmac-md5; secret "c2VjcmV0"; }\n'
        "key rndc.example.com. { algorithm hmac-sha256; secret c2VjcmV0+/==; };\n"
        "zone example.com. { primary 127.0.0.1; key ddns; }\n"
    )
    k1, k2, zone = config.statements
    assert isinstance(k1, Key) and (k1.name, k1.quoted) == ("ddns", True)
    assert (k1.algorithm, k1.secret) == ("hmac-md5", "c2VjcmV0")
    assert (k2.name, k2.quoted, k2.secret) == ("rndc.example.com.", False, "c2VjcmV0+/==")
    assert isinstance(zone, Zone) and zone.name == "example.com."
    assert [s.text for s in zone.statements] == ["primary 127.0.0.1;\n", "key ddns;\n"]
    roundtrip(config)
    assert "dhcpd wants the name unquoted" in error('zone "example.com" { }').message


def test_unknown_statements_and_blocks_are_kept_verbatim():
    config = parse(
        "ddns-update-style none; not authoritative;\n"
        'on commit { set ip = binary-to-ascii(10, 8, ".", leased-address); log(info, ip); }\n'
        'define greet (name) { return concat("hi ", name); }\n'
        'switch (option host-name) { case "a": option domain-name "a"; default: }\n'
        'failover peer "fo" state { my state normal; }\n'
    )
    style, nonauth, on_commit, define, switch, state = config.statements
    assert isinstance(style, Statement) and style.keyword == "ddns-update-style"
    assert nonauth.text == "not authoritative;\n"
    assert isinstance(on_commit, Block) and on_commit.kind == "on"
    assert on_commit.statements[0].text == (
        'set ip = binary-to-ascii(10, 8, ".", leased-address);\n'
    )
    assert join_tokens(define.header) == "define greet (name)"
    labels = [s for s in switch.statements if getattr(s, "terminator", "") == ":"]
    assert [join_tokens(s.tokens) for s in labels] == ['case "a"', "default"]
    assert join_tokens(state.header) == 'failover peer "fo" state'
    roundtrip(config)


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("a b c", "expected ';' after 'a b c', found end of file", (1, 6)),
        (
            "option routers 10.0.0.1 }",
            "expected ';' after 'option routers 10.0.0.1', found '}'",
            (1, 25),
        ),
        ("}", "unbalanced '}'", (1, 1)),
        (";", "unexpected ';' (empty statement)", (1, 1)),
        ('"x";', "expected a statement, found '\"x\"'", (1, 1)),
        ("log(info, x;", "unbalanced '(' in 'log(info, x'", (1, 12)),
        (
            "subnet 10.0.0.0 netmask 255.0.0.0 {\n  pool {\n",
            "unexpected end of file inside 'pool' opened at line 2",
            (3, 1),
        ),
        ('option x "abc', "unterminated string", (1, 10)),
        ('option x "a\\x4";', "invalid hex escape '\\x4' in string", (1, 12)),
        ('option x "a\\09";', "invalid octal escape '\\09' in string", (1, 12)),
        ("option é;", "unexpected character 'é' (U+00E9) outside a quoted string", (1, 8)),
        ("include x;", "expected a quoted file name after 'include', found 'x'", (1, 9)),
        (
            'include "x.conf";',
            'include "x.conf" is not allowed: no include directory was given',
            (1, 9),
        ),
    ],
)
def test_syntax_errors_give_line_column_and_a_clear_message(text, message, where):
    err = error(text)
    assert err.message.startswith(message), err.message
    assert (err.line, err.column) == where
    assert str(err).startswith(f"t.conf, line {where[0]}, column {where[1]}: ")


def test_eof_error_names_the_outermost_open_block_line():
    err = error("authoritative;\n\nsubnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5;\n")
    assert err.message == (
        "unexpected end of file inside 'subnet 10.0.0.0 netmask 255.255.255.0' opened at line 3"
    )


def test_walk_visits_every_node_in_file_order():
    config = parse(
        PEER + "subnet 10.0.0.0 netmask 255.255.255.0 {\n"
        '  pool { failover peer "pair"; range 10.0.0.5; }\n'
        "  if a { option b 1; } else { option c 2; }\n}\n"
    )
    names = [type(n).__name__ for n in walk(config)]
    assert names == [
        "Config",
        "FailoverPeer",
        "Subnet",
        "Pool",
        "Range",
        "Conditional",
        "Branch",
        "OptionSetting",
        "Branch",
        "OptionSetting",
    ]


def test_parse_bytes_decodes_utf8_and_refuses_binary():
    config = parse_bytes('option domain-name "café";\n'.encode(), filename="up")
    assert config.statements[0].value[0].value == "café"
    with pytest.raises(ParseError) as info:
        parse_bytes(b"option a 1;\n# caf\xe9\n", filename="up")
    assert (info.value.line, info.value.column) == (2, 6)
    assert "invalid UTF-8 byte 0xe9" in info.value.message


def test_parse_error_pickles():
    import pickle

    err = ParseError("f", 3, 5, "boom")
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.line, again.column, again.message) == ("f", 3, 5, "boom")


# --------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_quoting_any_string_gives_it_back(value):
    value = value.replace("\x00", "")
    config = parse(f"option domain-name {quote(value)};")
    assert config.statements[0].value[0].value == value


_WORDS = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True).filter(
    lambda w: (
        w
        not in {
            "if",
            "else",
            "elsif",
            "option",
            "include",
            "failover",
            "subnet",
            "shared-network",
            "group",
            "pool",
            "range",
            "host",
            "class",
            "subclass",
            "allow",
            "deny",
            "ignore",
            "key",
            "zone",
            "no",
            "case",
            "default",
        }
    )
)
_ARGS = st.lists(
    st.one_of(
        _WORDS,
        st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", fullmatch=True),
        st.text(alphabet='ab "\\#;{}\t', max_size=10).map(quote),
        st.sampled_from(["=", ",", "(", ")", "!", "+", "~"]),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(_WORDS, _ARGS, st.sampled_from([" ", "", "\n", "\t# c\n"])),
        min_size=1,
        max_size=6,
    )
)
def test_generic_statements_survive_the_round_trip(statements):
    pieces = []
    for keyword, args, sep in statements:
        opened = sum(1 for a in args if a == "(") - sum(1 for a in args if a == ")")
        if opened != 0 or any(
            args[:i].count(")") > args[:i].count("(") for i in range(len(args) + 1)
        ):
            args = [a for a in args if a not in ("(", ")")]
        pieces.append(keyword + " " + sep.join(args) + " ;")
    config = parse("\n".join(pieces))
    assert all(isinstance(s, Statement) for s in config.statements)
    roundtrip(config)
