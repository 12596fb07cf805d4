"""Temporal workflows: orchestration only; decisions come from `domain`, effects from activities."""
