"""Portals: machine clients of the intake, authenticated with OAuth2 client credentials."""
