"""The e-Akte: case files, documents, file plan, audit trail, clerk API."""
