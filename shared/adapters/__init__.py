"""Adapters every service may use (PynamoDB lives only in adapters)."""
