"""Sustainability pillar checks."""
