"""Who may knock: portals (OAuth2 clients) and people (clerks, operators), and how often."""
