"""kwa's orchestration layer: Prefect flows around the pure checks, thin by design."""
