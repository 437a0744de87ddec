"""Pure rules of the interviews service: no boto3, pynamodb, powertools or pydantic."""
