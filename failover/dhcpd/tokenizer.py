"""Tokenizer for ISC dhcpd.conf files (dhcpd 4.4 lexical rules, see common/conflex.c).

The lexer is one compiled master regular expression run with ``finditer``; the grammar
itself is recursive descent in :mod:`failover.dhcpd.parser`. Tokens are produced lazily
(``tokenize`` is a generator), so the parser never needs the whole token list at once.

Lexical rules, as dhcpd applies them:

* whitespace (space, tab, CR, LF, FF, VT) separates tokens; CRLF files are fine;
* ``#`` starts a comment up to the end of the line, except inside a quoted string;
* ``"..."`` is a string with the escapes ``\\t \\r \\n \\b``, ``\\NNN`` (three octal
  digits), ``\\xHH`` (two hex digits) and ``\\c`` for any other character ``c``;
  a string may span lines; its decoded value may hold at most 1,499 bytes (dhcpd's
  buffer is 1,500 bytes including the terminator, longer strings are rejected);
* a *word* is a run of letters, digits, ``-`` and ``_``. dhcpd splits ``10.0.0.1`` or
  ``00:11:22:33:44:55`` into words and ``.``/``:`` punctuation; we keep such a run
  written without spaces as ONE word token (``10.0.0.1``), which changes nothing in the
  meaning and makes addresses one token. Each part is limited to 1,499 characters like
  dhcpd's tokens;
* every other printable ASCII character is a one-character punctuation token;
* keywords are case-insensitive (the parser compares ``Token.lower``).

Anything else is refused with a :class:`ParseError` that gives file, line and column:
a NUL character or invalid UTF-8 (binary data), control characters and non-ASCII
characters outside strings and comments, over-long tokens, an unterminated string.

Spacing: each token records whether whitespace (or a comment) preceded it. The text of a
token span is rebuilt with one space where the source had any whitespace, none where it
had none, except: never a space before ``;`` ``,`` ``)`` or after ``(``, always one after
``,`` (such spaces never change how dhcpd reads the text). That is the *canonical* text that
``to_text`` writes back for statements the model does not know.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

WORD = "word"
STRING = "string"
PUNCT = "punct"
EOF = "eof"

# dhcpd's token buffer is 1,500 bytes including the terminating NUL.
MAX_TOKEN_BYTES = 1499
# A compound word (an address, a MAC, colon-separated hex data) is several dhcpd tokens;
# cap the whole run too so a hostile file cannot make one gigantic token.
MAX_WORD_CHARS = 65536

# One match per token: leading whitespace and comments, then the token itself.
_MASTER = re.compile(
    r"""
    (?P<sp>[ \t\r\n\f\v]*(?:\#[^\n]*[ \t\r\n\f\v]*)*)
    (?:
        (?P<word>[A-Za-z0-9_-]+(?:[.:][A-Za-z0-9_-]+)*)
      | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*)(?P<close>")?
      | (?P<punct>[!$-/:-@\[-`{-~])
      | (?P<end>\Z)
      | (?P<bad>.)
    )
    """,
    re.VERBOSE | re.DOTALL,
)

_NO_SPACE_BEFORE = frozenset(";,)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SAFE_STRING = re.compile(r'[^"\\\x00-\x1f\x7f\udc80-\udcff]*')
_ESCAPE_OUT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b"}
_SIMPLE_ESCAPES = {"t": 9, "r": 13, "n": 10, "b": 8}
_OCTAL = frozenset("01234567")
_HEX = frozenset("0123456789abcdefABCDEF")


class ParseError(ValueError):
    """A dhcpd.conf file that cannot be read: where (file, line, column) and why."""

    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    @property
    def location(self) -> str:
        return f"line {self.line}, column {self.column}"

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}, column {self.column}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing, caches) working
        return (type(self), (self.file, self.line, self.column, self.message))


@dataclass(slots=True, eq=False)
class Token:
    """One lexical token.

    ``value`` is the word as written, the punctuation character, or the DECODED string
    (escapes resolved; bytes that are not UTF-8 are kept as surrogate escapes so that
    re-quoting gives the same bytes). ``space_before`` is canonical spacing (see module
    docstring). ``line``/``column`` (1-based, column in characters) are not part of
    equality, so a re-parsed text compares equal to the original.
    """

    kind: str
    value: str
    line: int
    column: int
    space_before: bool = False
    # The comments written before this token (each ``#...`` up to its line's end, trailing
    # whitespace removed); not part of equality.
    comments: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        return (
            self.kind == other.kind
            and self.value == other.value
            and self.space_before == other.space_before
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def lower(self) -> str:
        """The value lower-cased: keywords are case-insensitive."""
        return self.value.lower()

    def is_punct(self, char: str) -> bool:
        return self.kind == PUNCT and self.value == char

    def is_word(self, keyword: str) -> bool:
        return self.kind == WORD and self.value.lower() == keyword

    def source(self) -> str:
        """The token as dhcpd.conf text (strings re-quoted canonically)."""
        if self.kind == STRING:
            return quote(self.value)
        return self.value

    def describe(self) -> str:
        """The token for an error message."""
        if self.kind == EOF:
            return "end of file"
        return f"'{shorten(self.source())}'"

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.source()!r})"


def quote(value: str) -> str:
    """Quote ``value`` as a dhcpd string: escape backslash, quote and control characters.

    Surrogate-escaped bytes (from ``\\xHH`` escapes that were not UTF-8) are written back
    as ``\\xHH``, so the bytes dhcpd sees are exactly those of the original string.
    """
    if _SAFE_STRING.fullmatch(value):
        return f'"{value}"'
    out = []
    for ch in value:
        code = ord(ch)
        if ch in _ESCAPE_OUT:
            out.append(_ESCAPE_OUT[ch])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def join_tokens(tokens) -> str:
    """Canonical text of a token span (one space where the source had whitespace)."""
    parts = []
    first = True
    for tok in tokens:
        if tok.space_before and not first:
            parts.append(" ")
        parts.append(tok.source())
        first = False
    return "".join(parts)


def shorten(text, limit: int = 60) -> str:
    """``text`` (anything with a str()) on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    return line, offset - line_start + 1


def decode_bytes(data: bytes, filename: str) -> str:
    """Decode a file's bytes as UTF-8 text; binary data is a ParseError with its position."""
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8") if nul < 0 else data[:nul].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line = data.count(b"\n", 0, bad) + 1
        line_start = data.rfind(b"\n", 0, bad) + 1
        column = len(data[line_start:bad].decode("utf-8", "replace")) + 1
        raise ParseError(
            filename,
            line,
            column,
            f"invalid UTF-8 byte 0x{data[bad]:02x}: this does not look like a text file",
        ) from None
    if nul >= 0:
        line, column = _position(text, nul)
        raise ParseError(filename, line, column, "NUL byte: this does not look like a text file")
    # A UTF-8 byte order mark is harmless; dhcpd itself would choke on it, we drop it.
    return text[1:] if text.startswith("\ufeff") else text


def check_text(text: str, filename: str) -> None:
    """Refuse NUL characters in text that did not come through :func:`decode_bytes`."""
    nul = text.find("\x00")
    if nul >= 0:
        line, column = _position(text, nul)
        raise ParseError(filename, line, column, "NUL byte: this does not look like a text file")


def tokenize(text: str, filename: str = "<text>") -> Iterator[Token]:
    """Yield the tokens of ``text``, then one EOF token (with the end position)."""
    line = 1
    line_start = 0
    after_open_paren = False
    after_comma = False
    for m in _MASTER.finditer(text):
        kind = m.lastgroup
        sp = m.group(1)
        start = m.start() + len(sp)
        if sp and "\n" in sp:
            line += sp.count("\n")
            line_start = m.start() + sp.rindex("\n") + 1
        space = after_comma or (bool(sp) and not after_open_paren)
        column = start - line_start + 1
        notes = _comments(sp) if "#" in sp else ()
        if kind == "word":
            value = m.group(kind)
            if len(value) > MAX_TOKEN_BYTES:
                _check_word_length(value, filename, line, column)
            yield Token(WORD, value, line, column, space, notes)
            after_open_paren = after_comma = False
        elif kind == "punct":
            value = m.group(kind)
            yield Token(PUNCT, value, line, column, space and value not in _NO_SPACE_BEFORE, notes)
            after_open_paren = value == "("
            after_comma = value == ","
        elif kind == "close":
            body = m.group("string")[1:]
            value = _decode_string(body, filename, line, column)
            yield Token(STRING, value, line, column, space, notes)
            after_open_paren = after_comma = False
            if "\n" in body:
                line += body.count("\n")
                line_start = start + 1 + body.rindex("\n") + 1
        elif kind == "end":
            yield Token(EOF, "", line, column, space, notes)
            return
        elif kind == "string":  # the closing quote is missing
            raise ParseError(filename, line, column, "unterminated string")
        else:
            raise ParseError(filename, line, column, _bad_character(m.group(kind)))  # type: ignore[arg-type]


def _comments(sp: str) -> tuple[str, ...]:
    """The comments in the whitespace before a token, each as written (from '#', trailing
    whitespace removed); a blank line between them, or between the last one and the token,
    is an empty string (so a layout of paragraphs can be written back)."""
    out: list[str] = []
    lines = sp.split("\n")
    last = len(lines) - 1
    blank = False
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("#"):
            if blank and out:
                out.append("")
            blank = False
            if _CONTROL.search(text):  # (a lone CR, a form feed: shown, so it stays one line)
                text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
            out.append(text)
        elif 0 < i < last and not text:
            blank = True
    if blank and out:
        out.append("")
    return tuple(out)


def _check_word_length(value: str, filename: str, line: int, column: int) -> None:
    if len(value) > MAX_WORD_CHARS:
        raise ParseError(
            filename,
            line,
            column,
            f"token too long ({len(value):,} characters; the limit is {MAX_WORD_CHARS:,})",
        )
    longest = max(len(part) for part in re.split(r"[.:]", value))
    if longest > MAX_TOKEN_BYTES:
        raise ParseError(
            filename,
            line,
            column,
            f"token too long ({longest:,} characters; dhcpd accepts at most {MAX_TOKEN_BYTES:,})",
        )


def _bad_character(char: str) -> str:
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"unexpected control character U+{code:04X}: this does not look like a text file"
    return f"unexpected character '{char}' (U+{code:04X}) outside a quoted string"


def _decode_string(body: str, filename: str, line: int, column: int) -> str:
    """Resolve the escapes of a string body (without quotes), check dhcpd's size limit."""
    if "\\" not in body:
        if len(body) > MAX_TOKEN_BYTES // 4 and len(body.encode("utf-8")) > MAX_TOKEN_BYTES:
            _too_long(body.encode("utf-8"), filename, line, column)
        return body
    buf = bytearray()
    i = 0
    n = len(body)
    while i < n:
        j = body.find("\\", i)
        if j < 0:
            buf += body[i:].encode("utf-8")
            break
        buf += body[i:j].encode("utf-8")
        c = body[j + 1]  # the regex guarantees a character after a backslash
        if c in _SIMPLE_ESCAPES:
            buf.append(_SIMPLE_ESCAPES[c])
            i = j + 2
        elif c in "0123":
            digits = body[j + 1 : j + 4]
            if len(digits) != 3 or not set(digits) <= _OCTAL:
                _bad_escape(body, j, f"invalid octal escape '\\{digits}'", filename, line, column)
            buf.append(int(digits, 8))
            i = j + 4
        elif c == "x":
            digits = body[j + 2 : j + 4]
            if len(digits) != 2 or not set(digits) <= _HEX:
                _bad_escape(body, j, f"invalid hex escape '\\x{digits}'", filename, line, column)
            buf.append(int(digits, 16))
            i = j + 4
        else:
            buf += c.encode("utf-8")
            i = j + 2
    if len(buf) > MAX_TOKEN_BYTES:
        _too_long(buf, filename, line, column)
    return buf.decode("utf-8", "surrogateescape")


def _too_long(data: bytes | bytearray, filename: str, line: int, column: int) -> None:
    raise ParseError(
        filename,
        line,
        column,
        f"string too long ({len(data):,} bytes; dhcpd accepts at most {MAX_TOKEN_BYTES:,})",
    )


def _bad_escape(body: str, j: int, what: str, filename: str, line: int, column: int) -> None:
    # Position of the backslash: the string starts at (line, column) with its quote.
    newlines = body.count("\n", 0, j)
    if newlines:
        line += newlines
        column = j - body.rindex("\n", 0, j)
    else:
        column = column + 1 + j
    raise ParseError(
        filename,
        line,
        column,
        f"{what} in string (dhcpd needs \\NNN with three octal digits or \\xHH)",
    )
