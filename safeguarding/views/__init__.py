"""Thin views over safeguarding/services/, one module per area; each module lists its own URLs."""
