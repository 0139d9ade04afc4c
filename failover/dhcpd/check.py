"""Validate a dhcpd.conf with the real daemon: ``dhcpd -t``.

The text is written to a fresh temporary directory and checked with
``dhcpd -t -4 -cf dhcpd.conf -lf dhcpd.leases -pf dhcpd.pid`` run inside it, so nothing under
/var/lib/dhcp or /run is read or written (``-t`` only parses; the lease and PID files are
named anyway so that no default path is ever touched). dhcpd reports a syntax error as
``dhcpd.conf line N: message`` followed by the offending line and a caret; those are mapped
back onto the text that was checked. Some errors carry no line number (an unreferenced
peer, a range outside its subnet); they are reported with ``line=None``.

A missing binary and a timeout are results, not exceptions: the caller shows them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

CONF_NAME = "dhcpd.conf"
DEFAULT_TIMEOUT = 30.0

_LINE_ERROR = re.compile(rf"^{re.escape(CONF_NAME)} line (\d+): (.*)$")
_BOILERPLATE = (
    "Internet Systems Consortium DHCP Server",
    "Copyright ",
    "All rights reserved.",
    "For info, please visit",
    "Config file:",
    "Database file:",
    "PID file:",
    "Configuration file errors encountered",
    "If you think you have received this message",
    "than a configuration issue please read",
    "bugs on either our web page",
    "before submitting a bug.",
    "process and the information we find helpful",
    "exiting.",
)


@dataclass
class CheckError:
    line: int | None
    message: str
    source_line: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class CheckResult:
    ok: bool
    errors: list[CheckError] = field(default_factory=list)
    output: str = ""
    missing_binary: bool = False
    timed_out: bool = False
    duration: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.missing_binary:
            return "dhcpd was not found: " + (self.errors[0].message if self.errors else "")
        if self.timed_out:
            return f"dhcpd -t did not finish within {self.duration:.0f} s."
        if self.ok:
            return "dhcpd -t accepts this configuration."
        return f"dhcpd -t found {len(self.errors)} error(s)."


def check_config(
    text: str,
    *,
    dhcpd_path: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> CheckResult:
    """Run ``dhcpd -t`` on ``text`` and report what it says, mapped onto ``text``."""
    dhcpd_path = resolve_binary(dhcpd_path or getattr(settings, "DHCPD_PATH", "") or "dhcpd")
    source = text.split("\n")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dhcpadmin-check-") as tmp:
        Path(tmp, CONF_NAME).write_text(text, encoding="utf-8")
        Path(tmp, "dhcpd.leases").touch()
        cmd = [dhcpd_path, "-t", "-4", "-cf", CONF_NAME, "-lf", "dhcpd.leases"]
        cmd += ["-pf", "dhcpd.pid"]
        try:
            proc = subprocess.run(
                cmd,
                cwd=tmp,
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except (FileNotFoundError, NotADirectoryError):
            return _missing(dhcpd_path, "no such file", started)
        except PermissionError:
            return _missing(dhcpd_path, "not executable", started)
        except subprocess.TimeoutExpired as exc:
            output = _decode(exc.stdout) + _decode(exc.stderr)
            return CheckResult(
                ok=False,
                errors=[
                    CheckError(None, f"dhcpd -t was stopped after {timeout:g} s without an answer.")
                ],
                output=output,
                timed_out=True,
                duration=time.monotonic() - started,
            )
    output = _decode(proc.stdout) + _decode(proc.stderr)
    errors, remarks = parse_output(output, source)
    ok = proc.returncode == 0
    if not ok:
        # Without a line number dhcpd's message is still the reason: keep every one of them.
        errors += [CheckError(None, remark.removeprefix("ERROR:").strip()) for remark in remarks]
        if not errors:
            errors = [CheckError(None, f"dhcpd -t exited with status {proc.returncode}.")]
    return CheckResult(
        ok=ok,
        errors=[] if ok else errors,
        output=output,
        duration=time.monotonic() - started,
        warnings=[str(e) for e in errors] + remarks if ok else [],
    )


def resolve_binary(path: str) -> str:
    """A bare name is looked up on PATH, then in /usr/sbin (not on a normal user's PATH)."""
    if os.sep in path:
        return path
    found = shutil.which(path) or shutil.which(path, path="/usr/local/sbin:/usr/sbin:/sbin")
    return found or path


def parse_output(output: str, source: list[str]) -> tuple[list[CheckError], list[str]]:
    """Messages with a line number (with the checked line), and the other meaningful lines."""
    errors: list[CheckError] = []
    remarks: list[str] = []
    lines = output.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        match = _LINE_ERROR.match(line)
        if match:
            number = int(match.group(1))
            source_line = source[number - 1] if 0 < number <= len(source) else None
            errors.append(CheckError(number, match.group(2).strip(), source_line))
            # dhcpd echoes the offending token's line and a caret below it: skip both.
            if _is_caret(lines, i + 1):
                i += 2
            continue
        if line.strip() and not line.startswith(_BOILERPLATE):
            remarks.append(line)
    return errors, remarks


def _is_caret(lines: list[str], index: int) -> bool:
    return index < len(lines) and lines[index].strip() == "^"


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")


def _missing(path: str, why: str, started: float) -> CheckResult:
    message = (
        f"the dhcpd binary '{path}' cannot be run ({why}); install isc-dhcp-server or set "
        "DHCPD_PATH."
    )
    return CheckResult(
        ok=False,
        errors=[CheckError(None, message)],
        missing_binary=True,
        duration=time.monotonic() - started,
    )
