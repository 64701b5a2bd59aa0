"""Server-rendered pages: the base layout (KERN design system), static assets, Jinja2."""
