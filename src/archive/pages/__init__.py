"""The archivist's workplace: the Aussonderung as a server-rendered page over the CLI's steps."""
