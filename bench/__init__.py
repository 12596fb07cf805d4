"""Benchmarks: Threshold's HTTP/Temporal/ledger paths next to raw baselines on the same server."""
