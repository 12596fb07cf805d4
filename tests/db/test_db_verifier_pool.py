"""The verifier processes: reused between verifications, stopped on request, never left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from db import verify
from db.actions import ScopeCache, ingest_actions, verify_actions
from tests.db.test_db_actions import publish, record

ROOT = Path(__file__).resolve().parents[2]
ORPHANING = """
import os, sys
from db import verify
def main():
    pool = verify._process_pool()
    list(pool.map(abs, range(4)))
    print(*pool._processes, flush=True)
    os._exit(0)  # what `threshold` and the test and bench runners do on the way out
if __name__ == "__main__":
    main()
"""


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting to be reaped does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_shutdown_stops_the_verifiers_and_the_next_verify_starts_new_ones(engine: Engine) -> None:
    """`shutdown_verifiers` leaves no verifier running; a later split verification still works."""
    publish(engine, "alpha", 1, ["search"])
    ingest_actions(engine, [record("alpha", n) for n in range(6)], ScopeCache())
    assert verify_actions(engine, parallel_from=1).entries_checked == 6
    assert verify._pool is not None
    workers = list(verify._pool._processes)
    assert workers and all(alive(pid) for pid in workers)
    verify.shutdown_verifiers()
    assert not any(alive(pid) for pid in workers)
    assert verify_actions(engine, parallel_from=1).entries_checked == 6


def test_verifiers_do_not_outlive_a_process_that_leaves_with_os_exit(tmp_path: Path) -> None:
    """A process that started verifiers and left without cleaning up leaves none running."""
    script = tmp_path / "orphaning.py"
    script.write_text(ORPHANING)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The verifiers inherit stdout: the run only ends once they are gone (or it times out).
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    workers = [int(pid) for pid in done.stdout.split()]
    assert len(workers) == verify._workers()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)
