"""Intake: forms, streaming validation, receipts, idempotency and the citizen's status."""
