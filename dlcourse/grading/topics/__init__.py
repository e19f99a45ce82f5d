"""Check targets, one module per topic; each registers its targets on import."""
