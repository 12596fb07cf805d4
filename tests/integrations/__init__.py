"""Integration wrappers against local Slack and Jira emulators."""
