"""Thin wrappers over vendor clients (Slack, Jira) that Threshold's activities call."""
