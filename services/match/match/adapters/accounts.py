"""Who a signed-in account is. The applicant's registration carries its account's sub
(applicant.registered.v1 owner_sub); when it does not, the account's email (the
registration's email, R1) ties them: an access token carries no email, so the user
pool is asked."""

from __future__ import annotations

from abc import ABC, abstractmethod

from shared.auth import Principal


class AccountDirectory(ABC):
    @abstractmethod
    def email_of(self, principal: Principal) -> str | None: ...


class CognitoAccountDirectory(AccountDirectory):
    def __init__(self, user_pool_id: str, client=None):
        self.pool = user_pool_id
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("cognito-idp")
        return self._client

    def email_of(self, principal: Principal) -> str | None:
        if "@" in (principal.username or ""):  # an ID token carries the email
            return principal.username.strip().lower()
        if not self.pool:
            return None
        sub = principal.sub.replace('"', "")
        users = self.client.list_users(UserPoolId=self.pool, Filter=f'sub = "{sub}"', Limit=1)["Users"]
        for user in users:
            for attr in user.get("Attributes", []):
                if attr["Name"] == "email":
                    return attr["Value"].strip().lower()
        return None


class StaticAccountDirectory(AccountDirectory):
    """Tests: sub -> email."""

    def __init__(self, emails: dict[str, str] | None = None):
        self.emails = dict(emails or {})

    def email_of(self, principal: Principal) -> str | None:
        return self.emails.get(principal.sub)
