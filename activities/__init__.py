"""Temporal activities: the I/O a workflow asks for, each a small verb on a class given its clients."""
