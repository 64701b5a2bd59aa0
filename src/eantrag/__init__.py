"""Shared infrastructure of eantrag: settings, database, blob store, broker, outbox, CLI wiring."""

__version__ = "0.1.0"
