"""The interviews service."""
