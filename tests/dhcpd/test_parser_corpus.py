"""The parser against its corpus of real-looking configs, and against the real dhcpd.

``corpus/good/*.conf``: every file parses, survives parse -> to_text -> parse unchanged,
and is accepted by ``dhcpd -t`` both as written and as rendered by ``to_text``.
``corpus/bad/*.conf``: each gives exactly the error in its ``.expected`` sidecar
(``FILE, line L, column C: message``, FILE relative to corpus/bad, ``{corpus_bad}`` for
that directory's real path), and dhcpd rejects it too unless it is listed in STRICTER
(where we refuse what dhcpd lets through, on purpose).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from failover.dhcpd.ast import Include, walk
from failover.dhcpd.parser import ParseError, parse_file, parse_text, to_text
from tests.conftest import require_binary

CORPUS = Path(__file__).parent / "corpus"
GOOD = CORPUS / "good"
BAD = CORPUS / "bad"
GOOD_FILES = sorted(GOOD.glob("*.conf"))
BAD_FILES = sorted(BAD.glob("*.conf"))

# Bad configs that dhcpd 4.4.3 accepts (or crashes on): we are stricter on purpose.
STRICTER = {
    "deep-nesting.conf": "dhcpd has no nesting limit; we stop at 64 levels",
    "include-outside.conf": "dhcpd reads any file; we only read inside the include directory",
    "include-symlink-escape.conf": "same, through a symlink",
    "include-loop.conf": "dhcpd recurses until it crashes (SIGSEGV); never run it on this",
    "invalid-utf8.conf": "dhcpd takes any bytes in comments; we want UTF-8 text",
    "nul-byte.conf": "dhcpd takes a NUL in a string; we refuse binary data",
    "netmask-not-contiguous.conf": "dhcpd accepts it; no CIDR network has such a mask",
}


def run_dhcpd(conf: Path, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``dhcpd -t`` on ``conf``, run in ``cwd`` (relative includes resolve there)."""
    dhcpd = require_binary("dhcpd")
    return subprocess.run(
        [
            dhcpd,
            "-t",
            "-4",
            "-cf",
            str(conf),
            "-lf",
            str(tmp_path / "dhcpd.leases"),
            "-pf",
            str(tmp_path / "dhcpd.pid"),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_corpus_is_big_enough():
    assert len(GOOD_FILES) >= 15
    assert len(BAD_FILES) >= 15
    for conf in BAD_FILES:
        assert conf.with_suffix(".expected").exists(), f"{conf.name} has no .expected"


@pytest.mark.parametrize("conf", GOOD_FILES, ids=lambda p: p.name)
def test_good_config_parses_and_round_trips(conf):
    config = parse_file(conf)
    assert config.statements
    text = to_text(config)
    # Rendered again with the same include directory, the tree is the same.
    assert parse_text(text, filename="rendered", include_root=GOOD) == config
    flat = to_text(config, inline_includes=True)
    assert parse_text(flat, filename="flat") == parse_text(
        to_text(parse_text(flat, filename="flat")), filename="again"
    )


@pytest.mark.dhcpd
@pytest.mark.parametrize("conf", GOOD_FILES, ids=lambda p: p.name)
def test_good_config_and_its_rendering_pass_dhcpd(conf, tmp_path):
    result = run_dhcpd(conf, GOOD, tmp_path)
    assert result.returncode == 0, result.stderr
    config = parse_file(conf)
    for inline in (False, True):
        rendered = tmp_path / f"rendered-{inline}.conf"
        rendered.write_text(to_text(config, inline_includes=inline), encoding="utf-8")
        result = run_dhcpd(rendered, GOOD, tmp_path)
        assert result.returncode == 0, f"{result.stderr}\n---\n{rendered.read_text()}"


def expected_error(conf: Path) -> str:
    text = conf.with_suffix(".expected").read_text(encoding="utf-8").strip()
    return text.replace("{corpus_bad}", os.path.realpath(BAD))


def format_error(err: ParseError) -> str:
    return f"{os.path.relpath(err.file, BAD)}, line {err.line}, column {err.column}: {err.message}"


@pytest.mark.parametrize("conf", BAD_FILES, ids=lambda p: p.name)
def test_bad_config_gives_exactly_the_expected_error(conf):
    with pytest.raises(ParseError) as info:
        parse_file(conf)
    assert format_error(info.value) == expected_error(conf)


@pytest.mark.dhcpd
@pytest.mark.parametrize(
    "conf", [c for c in BAD_FILES if c.name not in STRICTER], ids=lambda p: p.name
)
def test_dhcpd_rejects_the_bad_config_too(conf, tmp_path):
    result = run_dhcpd(conf, BAD, tmp_path)
    assert result.returncode != 0, f"dhcpd accepted {conf.name}:\n{result.stderr}"


def test_include_errors_never_show_the_files_outside():
    for name in ("include-outside.conf", "include-symlink-escape.conf"):
        with pytest.raises(ParseError) as info:
            parse_file(BAD / name)
        message = str(info.value)
        assert "outside the allowed include directory" in message
        for secret in ("dhcp-pair", "192.0.2", "failover-secondary", "office.example.com"):
            assert secret not in message


def test_includes_bring_their_statements_in_place():
    config = parse_file(GOOD / "includes.conf")
    includes = [n for n in walk(config) if isinstance(n, Include)]
    assert [i.path for i in includes] == [
        "include.d/peer.conf",
        "include.d/pools.conf",
        "include.d/options.conf",
        "include.d/options.conf",
    ]
    subnet = config.statements[1]
    pool = [n for n in walk(subnet) if type(n).__name__ == "Pool"][0]
    assert pool.failover_peer == "inc-pair"
    assert includes[1].config.statements[0].file == os.path.realpath(
        GOOD / "include.d" / "pools.conf"
    )
