"""Process-level plumbing shared by the API, the worker and the CLI: settings, Temporal, logging."""
