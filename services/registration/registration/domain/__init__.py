"""Pure rules of the registration service: no boto3, pynamodb, powertools or pydantic."""
