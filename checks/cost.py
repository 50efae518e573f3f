"""Cost pillar checks."""
