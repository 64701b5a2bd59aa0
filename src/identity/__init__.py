"""Who acts in eantrag: people who log in, and the portals and systems that call it."""
