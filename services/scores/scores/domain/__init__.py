"""Pure rules of the scores service: no boto3, pynamodb, powertools or pydantic."""
