"""Shared infrastructure of eantrag: settings, database, blob store, broker, outbox, logging.

Imports no context and not the composition root (`bootstrap`); `lint-imports` checks it.
"""

__version__ = "0.1.0"
