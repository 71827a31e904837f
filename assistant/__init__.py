"""A privacy-preserving local assistant: sanitize, plan remotely, search encrypted, answer locally."""

__version__ = "0.1.0"
