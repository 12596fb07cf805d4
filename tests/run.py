"""Runs pytest, then leaves with os._exit so a Temporal bridge thread cannot abort a green run."""

from __future__ import annotations

import os
import sys

import pytest


def main() -> None:
    """Run the suite with any extra arguments and exit with pytest's status."""
    status = pytest.main(["-q", *sys.argv[1:]])
    from db.verify import shutdown_verifiers  # after the run, as the suite imports it

    shutdown_verifiers()  # os._exit skips atexit: stop the ledger verifier processes first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(status))


if __name__ == "__main__":
    main()
