"""kwa's execution layer: what is checked, as pure Python (no Prefect, no SQL)."""

__version__ = "0.1.0"
