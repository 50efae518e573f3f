"""Reliability pillar checks."""
