"""Performance pillar checks."""
