"""Archiving: retention and xdomea Aussonderung to the state archive."""
