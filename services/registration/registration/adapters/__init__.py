"""PynamoDB models, repositories and other AWS adapters of the registration service."""
