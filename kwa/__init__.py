"""The ``kwa`` umbrella command: dispatches to the execution, presentation and server commands."""
