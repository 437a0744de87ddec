"""The identity service's AWS adapters (Cognito)."""
