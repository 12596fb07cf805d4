"""Threshold's test suite."""
