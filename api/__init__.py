"""HTTP API under /api/v1: thin routes over the governance service."""
