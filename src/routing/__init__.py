"""Routing: the Zuständigkeitsfinder and delivery of each application to its authority."""
