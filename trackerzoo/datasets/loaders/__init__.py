"""One module per official on-disk layout; each registers its kind on import."""
