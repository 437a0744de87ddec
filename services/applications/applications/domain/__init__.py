"""Pure rules of the applications service: no boto3, pynamodb, powertools or pydantic."""
