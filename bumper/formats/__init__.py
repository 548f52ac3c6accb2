"""One module per file format of an image folder: read its facts, rewrite it.

Everything here is pure: text in, facts or text out, no disk.
"""
