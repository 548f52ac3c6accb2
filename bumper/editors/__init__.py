"""Pure rewriters, one per file format: text in, text out, no disk.

Each takes a `Rewrite` (what changes) and returns the new text; given a
Rewrite that changes nothing, each returns its input byte for byte.
"""
