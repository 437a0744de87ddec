"""Who a signed-in account is: the email of a Cognito user, by its sub. An access token
carries no email, so the user pool is asked. Registration uses it to tie a registration
to its applicant account (R1: the registration's email is the account's email); match,
when a registration event carries no owner_sub. Only a verified email counts: anyone can
type any address at sign-up."""

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
        """The account's email, only once its owner has proven it (the emailed link; accounts
        an administrator creates are vouched for). Always asked of the pool: a token's
        username is whatever the person typed at sign-up, proven or not."""
        if not self.pool:
            return None
        sub = principal.sub.replace('"', "")
        users = self.client.list_users(UserPoolId=self.pool, Filter=f'sub = "{sub}"', Limit=1)["Users"]
        for user in users:
            attrs = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            if attrs.get("email") and attrs.get("email_verified") == "true":
                return attrs["email"].strip().lower()
        return None


class StaticAccountDirectory(AccountDirectory):
    """Tests: sub -> email."""

    def __init__(self, emails: dict[str, str] | None = None):
        self.emails = dict(emails or {})

    def email_of(self, principal: Principal) -> str | None:
        return self.emails.get(principal.sub)
