"""People: clerks, triage clerks, archivists and operators log in as themselves (local accounts
or the operator's OIDC provider), so that every act in the e-Akte names a person."""
