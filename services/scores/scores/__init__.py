"""The scores service."""
