"""bumper: safe version bumps for versioned container image folders."""

__version__ = "0.1.0"
