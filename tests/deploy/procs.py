"""Helpers for the process tests: free ports and what /proc says about processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

THRESHOLD = Path(sys.executable).parent / "threshold"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (from /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    """A process's command line, spaces between arguments ('' if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def children(parent: int) -> list[int]:
    """Live direct children of `parent` (from /proc/*/stat)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def clean_env(**settings: str) -> dict[str, str]:
    """Our environment without Threshold settings, plus `settings`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")} | settings


def start_up(tmp: Path, *options: str) -> tuple[subprocess.Popen[str], str, int]:
    """`threshold up` on free ports in `tmp`; returns the process, API URL and Temporal port."""
    api, temporal = free_port(), free_port()
    args = [str(THRESHOLD), "up", "--data-dir", str(tmp), "--api-port", str(api)]
    args += ["--temporal-port", str(temporal), "--ui-port", str(free_port()), *options]
    env = clean_env()
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Press Ctrl-C"):
            return process, f"http://127.0.0.1:{api}", temporal
    raise AssertionError(f"threshold up ended before it was up (status {process.wait()})")
