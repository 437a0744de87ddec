"""Identity has no rules of its own beyond account roles (identity.domain.accounts)."""
