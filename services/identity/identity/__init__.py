"""Accounts and tokens (/auth), backed by the Cognito user pool."""
