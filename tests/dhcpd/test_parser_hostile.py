"""Hostile input for the dhcpd.conf parser: huge tokens, deep nesting, binary garbage, a
50 MB file, include tricks. Every case ends in a ParseError with a position (never a
RecursionError, a hang or another exception), quickly; and parsing time grows linearly."""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.gen_config import generate
from failover.dhcpd import parser as parser_module
from failover.dhcpd.ast import Config
from failover.dhcpd.parser import (
    DEFAULT_MAX_BYTES,
    ParseError,
    parse_bytes,
    parse_file,
    parse_text,
    to_text,
)

FIFTY_MB = 50 * 1024 * 1024


def error(text: str, **kwargs) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_text(text, filename="h.conf", **kwargs)
    return info.value


# --------------------------------------------------------------------------- huge tokens


@pytest.mark.parametrize("size", [1500, 10 * 1024 * 1024])
def test_huge_string_is_refused_like_dhcpd(size):
    started = time.monotonic()
    err = error('option domain-name "' + "a" * size + '";')
    assert (err.line, err.column) == (1, 20)
    assert err.message == f"string too long ({size:,} bytes; dhcpd accepts at most 1,499)"
    assert time.monotonic() - started < 5


def test_string_limit_counts_decoded_bytes():
    assert parse_text('option domain-name "' + "é" * 749 + '";')  # 1,498 bytes
    assert "string too long (1,500 bytes" in error('option x "' + "é" * 750 + '";').message
    assert parse_text('option x "' + "\\101" * 1499 + '";')  # 5,996 characters, 1,499 bytes


@pytest.mark.parametrize("size", [1500, 10 * 1024 * 1024])
def test_huge_word_is_refused(size):
    err = error("option domain-name " + "x" * size + ";")
    assert (err.line, err.column) == (1, 20)
    assert err.message.startswith("token too long (")


def test_huge_compound_word_is_refused():
    err = error("option x " + "ab:" * 30000 + "ab;")
    assert err.message == "token too long (90,002 characters; the limit is 65,536)"


def test_unterminated_string_at_the_start_of_a_big_text_is_found_fast():
    started = time.monotonic()
    err = error('option x "' + "abc\n" * 1_000_000)
    assert (err.line, err.column, err.message) == (1, 10, "unterminated string")
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    ("opener", "where"),
    [
        ("group { ", 64 * 8 + 7),
        ("if a { ", 64 * 7 + 6),
        ("on commit { ", 64 * 12 + 11),
        ("switch (x) { if a { ", None),
    ],
)
def test_ten_thousand_levels_of_nesting_is_a_parse_error(opener, where):
    limit = sys.getrecursionlimit()
    err = error(opener * 10_000 + "}" * 20_000)
    assert err.message == "blocks nested deeper than 64 levels"
    if where is not None:
        assert (err.line, err.column) == (1, where)
    assert sys.getrecursionlimit() == limit


def test_sixty_four_levels_are_fine_and_the_limit_is_configurable():
    config = parse_text("group { " * 64 + "}" * 64)
    depth, node = 0, config
    while node.statements:
        node = node.statements[0]
        depth += 1
    assert depth == 64
    assert to_text(config).count("{") == 64
    assert error("group { " * 65 + "}" * 65).message == "blocks nested deeper than 64 levels"
    assert error("group { " * 5 + "}" * 5, max_depth=4).message == (
        "blocks nested deeper than 4 levels"
    )


def test_deep_parentheses_need_no_recursion():
    config = parse_text("eval " + "(" * 100_000 + "x" + ")" * 100_000 + ";")
    assert len(config.statements[0].tokens) == 200_002
    assert error("eval " + "(" * 100_000 + ";").message.startswith("unbalanced '(' in 'eval")


# --------------------------------------------------------------------------- binary


def test_nul_byte_invalid_utf8_and_control_characters_are_refused_with_position():
    with pytest.raises(ParseError) as info:
        parse_bytes(b'option a "x";\noption b "y\x00z";\n', filename="b")
    assert (info.value.line, info.value.column) == (2, 12)
    assert info.value.message == "NUL byte: this does not look like a text file"
    with pytest.raises(ParseError) as info:
        parse_bytes(b"option a 1;\n\x89PNG\r\n\x1a\n", filename="b")
    assert (info.value.line, info.value.column) == (2, 1)
    assert info.value.message.startswith("invalid UTF-8 byte 0x89")
    err = error("option a 1;\n  \x1b[31m;")
    assert (err.line, err.column) == (2, 3)
    assert err.message.startswith("unexpected control character U+001B")
    assert error("x\x00").message.startswith("NUL byte")


def test_random_binary_garbage_is_always_a_parse_error():
    rng = random.Random(4)
    for _ in range(300):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        with pytest.raises(ParseError):
            parse_bytes(blob, filename="garbage")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_give_a_config_or_a_parse_error(data):
    try:
        result = parse_bytes(data, filename="fuzz")
    except ParseError as err:
        assert err.line >= 1 and err.column >= 1 and err.message
    else:
        assert isinstance(result, Config)


_PIECES = st.sampled_from(
    [
        "subnet",
        "10.0.0.0",
        "netmask",
        "255.255.255.0",
        "pool",
        "range",
        "10.0.0.5",
        "failover",
        "peer",
        '"p"',
        "primary",
        "secondary",
        "mclt",
        "split",
        "hba",
        "ff:ff",
        "address",
        "port",
        "647",
        "{",
        "}",
        ";",
        "(",
        ")",
        "if",
        "elsif",
        "else",
        "option",
        "code",
        "=",
        "space",
        "group",
        "host",
        "h",
        "class",
        "subclass",
        '"c"',
        "key",
        "zone",
        "z.",
        "include",
        "allow",
        "deny",
        "no",
        "dynamic-bootp",
        "shared-network",
        "case",
        ":",
        ",",
        "#",
        "\n",
        '"',
        "\\",
        "load",
        "balance",
        "max",
        "seconds",
        "state",
    ]
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=60))
def test_any_token_soup_gives_a_config_or_a_parse_error(pieces):
    text = " ".join(pieces)
    try:
        config = parse_text(text, filename="soup")
    except ParseError as err:
        assert err.line >= 1 and err.column >= 1 and err.message
    else:
        assert parse_text(to_text(config)) == config


# --------------------------------------------------------------------------- size


def test_a_50_mb_file_is_refused_by_the_size_limit_before_it_is_read(tmp_path):
    big = tmp_path / "big.conf"
    chunk = generate(200).encode()
    with big.open("wb") as handle:
        while handle.tell() < FIFTY_MB:
            handle.write(chunk)
    size = big.stat().st_size
    with pytest.raises(ParseError) as info:
        parse_file(big)
    assert (info.value.line, info.value.column) == (1, 1)  # refused at the start: not read
    assert info.value.message == (
        f"the file is {size:,} bytes, larger than the limit of {DEFAULT_MAX_BYTES:,} bytes "
        "(refused before parsing)"
    )


def test_50_mb_of_bytes_or_text_is_refused_too():
    data = b"# " + b"x" * FIFTY_MB
    with pytest.raises(ParseError) as info:
        parse_bytes(data, filename="upload")
    assert "larger than the limit" in info.value.message
    with pytest.raises(ParseError) as info:
        parse_text(data.decode(), filename="paste")
    assert info.value.message.startswith(f"the text is {len(data):,} bytes")


def test_the_size_limit_counts_included_files(tmp_path):
    (tmp_path / "part.conf").write_text("# " + "x" * 5000 + "\n")
    (tmp_path / "main.conf").write_text('option a 1;\ninclude "part.conf";\n')
    with pytest.raises(ParseError) as info:
        parse_file(tmp_path / "main.conf", max_bytes=4000)
    assert (info.value.line, info.value.column) == (2, 9)
    assert info.value.message.startswith(
        'include "part.conf": the file is 5,003 bytes; with it the configuration would be '
        "larger than the limit of 4,000 bytes"
    )
    assert parse_file(tmp_path / "main.conf", max_bytes=6000).statements


def test_parse_work_grows_linearly():
    """The parser's work (function calls, Python's and C's, counted: no clock, so the
    machine's load cannot change the answer) grows with the input, not with its square.
    The time itself is measured by bench/parse_bench.py."""

    def calls(text: str) -> int:
        count = 0

        def profile(frame, event, arg):
            nonlocal count
            if event in ("call", "c_call"):
                count += 1

        sys.setprofile(profile)
        try:
            parse_text(text)
        finally:
            sys.setprofile(None)
        return count

    small, large = generate(1_000), generate(8_000)
    ratio = calls(large) / calls(small)
    assert 7 < ratio < 9, ratio  # 8x the input; quadratic behaviour would give ~64


# --------------------------------------------------------------------------- includes


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ (the allowed directory) and outside/ with a secret next to it."""
    root = tmp_path / "root"
    (root / "conf.d").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.conf").write_text('option domain-name "TOP-SECRET";\n')
    return root


def test_include_inside_the_directory_is_followed_in_place(tree):
    (tree / "conf.d" / "a.conf").write_text('option a 1;\ninclude "conf.d/b.conf";\n')
    (tree / "conf.d" / "b.conf").write_text("option b 2;\n")
    (tree / "main.conf").write_text('include "conf.d/a.conf";\noption c 3;\n')
    config = parse_file(tree / "main.conf")
    assert to_text(config, inline_includes=True) == "option a 1;\noption b 2;\noption c 3;\n"
    inc = config.statements[0]
    assert inc.path == "conf.d/a.conf" and inc.resolved == str(tree / "conf.d/a.conf")
    assert to_text(config) == 'include "conf.d/a.conf";\noption c 3;\n'


def test_include_by_absolute_path_inside_the_directory(tree):
    (tree / "conf.d" / "a.conf").write_text("option a 1;\n")
    (tree / "main.conf").write_text(f'include "{tree}/conf.d/a.conf";\n')
    assert parse_file(tree / "main.conf").statements[0].config.statements[0].name == "a"


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.conf",
        "{tmp}/outside/secret.conf",
        "conf.d/../../outside/secret.conf",
        "/etc/passwd",
        "conf.d/link.conf",
    ],
)
def test_include_outside_the_directory_is_refused_without_reading_it(tree, path, monkeypatch):
    (tree / "conf.d" / "link.conf").symlink_to(tree.parent / "outside" / "secret.conf")
    path = path.format(tmp=tree.parent)
    (tree / "main.conf").write_text(f'option a 1;\ninclude "{path}";\n')
    opened = []
    real_open = os.open

    def spy(name, *args, **kwargs):
        opened.append(os.path.realpath(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(parser_module.os, "open", spy)
    with pytest.raises(ParseError) as info:
        parse_file(tree / "main.conf")
    err = info.value
    assert (err.line, err.column) == (2, 9)
    assert err.message == (
        f'include "{path}" is outside the allowed include directory {os.path.realpath(tree)}'
    )
    assert "TOP-SECRET" not in str(err) and "root:" not in str(err)
    assert opened == [os.path.realpath(tree / "main.conf")]  # nothing else was opened


def test_include_root_can_be_wider_than_the_file_directory(tree):
    (tree / "conf.d" / "main.conf").write_text('include "../shared.conf";\n')
    (tree / "shared.conf").write_text("option s 1;\n")
    with pytest.raises(ParseError):
        parse_file(tree / "conf.d" / "main.conf")
    config = parse_file(tree / "conf.d" / "main.conf", include_root=tree)
    assert config.statements[0].config.statements[0].name == "s"


@pytest.mark.parametrize(
    ("files", "message", "where"),
    [
        (
            {"main.conf": 'include "main.conf";\n'},
            'include loop: "main.conf" is already being read ("main.conf" -> "main.conf")',
            "main.conf",
        ),
        (
            {
                "main.conf": 'include "a.conf";\n',
                "a.conf": 'include "b.conf";\n',
                "b.conf": '\n include "a.conf";\n',
            },
            'include loop: "a.conf" is already being read ("main.conf" -> "a.conf" -> "b.conf" '
            '-> "a.conf")',
            "b.conf",
        ),
        (
            {"main.conf": 'include "nope.conf";\n'},
            'include "nope.conf": file not found',
            "main.conf",
        ),
        ({"main.conf": 'include "conf.d";\n'}, 'include "conf.d": not a regular file', "main.conf"),
    ],
)
def test_include_loops_and_missing_files_are_clear_errors(tree, files, message, where):
    for name, text in files.items():
        (tree / name).write_text(text)
    with pytest.raises(ParseError) as info:
        parse_file(tree / "main.conf")
    assert info.value.message == message
    assert os.path.basename(info.value.file) == where


def test_a_fifo_in_the_include_directory_does_not_hang(tree):
    os.mkfifo(tree / "pipe.conf")
    (tree / "main.conf").write_text('include "pipe.conf";\n')
    with pytest.raises(ParseError) as info:
        parse_file(tree / "main.conf")
    assert info.value.message == 'include "pipe.conf": not a regular file'


def test_includes_nested_too_deep(tree):
    for i in range(20):
        (tree / f"f{i}.conf").write_text(f'include "f{i + 1}.conf";\n')
    (tree / "f20.conf").write_text("option end 1;\n")
    with pytest.raises(ParseError) as info:
        parse_file(tree / "f0.conf")
    assert info.value.message == "includes nested deeper than 16 levels"
    assert parse_file(tree / "f0.conf", max_include_depth=25)


def test_included_file_errors_name_that_file(tree):
    (tree / "bad.conf").write_text("option a 1;\noption b\n")
    (tree / "main.conf").write_text('include "bad.conf";\n')
    with pytest.raises(ParseError) as info:
        parse_file(tree / "main.conf")
    assert info.value.file == str(tree / "bad.conf")
    assert (info.value.line, info.value.column) == (3, 1)


def test_parse_text_follows_includes_only_with_an_include_root(tree):
    (tree / "a.conf").write_text("option a 1;\n")
    text = 'include "a.conf";\n'
    assert "no include directory was given" in error(text).message
    config = parse_text(text, include_root=tree)
    assert config.statements[0].config.statements[0].name == "a"
