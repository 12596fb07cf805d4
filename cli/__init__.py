"""The `threshold` command line: a client of the Threshold HTTP API."""
