"""The FIT-Connect destination (Zustellpunkt): receive encrypted submissions, answer with events.

A context of its own beside intake: it fetches submissions from the Zustelldienst, decrypts and
checks them, hands each to intake's one entry (`intake.service.submit`) and signs the accept or
reject event into the case's event log. Its only table is `fitconnect_submissions`.
"""
