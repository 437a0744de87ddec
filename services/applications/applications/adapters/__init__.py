"""PynamoDB models, repositories and other AWS adapters of the applications service."""
