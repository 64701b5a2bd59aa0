"""The clerk's workplace: server-rendered pages over the same use cases as the JSON API."""
