"""Pure governance policy: models and decisions, no I/O (safe inside the workflow sandbox)."""
