"""The Cognito user pool behind /auth."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import boto3

from identity.domain.accounts import NewAccount
from shared.errors import (
    Conflict,
    FieldError,
    NotFound,
    TemporarilyUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    expires_in: int
    refresh_token: str | None = None


class Directory(ABC):
    @abstractmethod
    def create(self, account: NewAccount) -> str:
        """Creates the account, returns its sub."""

    @abstractmethod
    def authenticate(self, email: str, password: str) -> Tokens: ...

    @abstractmethod
    def mark_verified(self, sub: str, email: str) -> None:
        """The account `sub` proved it owns `email` (the emailed link)."""

    @abstractmethod
    def email_of(self, sub: str) -> tuple[str, bool]:
        """The account's email address and whether it is proven; NotFound when the account is gone."""


class CognitoDirectory(Directory):
    def __init__(self, user_pool_id: str, client_id: str, client=None):
        self.pool = user_pool_id
        self.client_id = client_id
        self._idp = client or boto3.client("cognito-idp")

    def create(self, account: NewAccount) -> str:
        idp = self._idp
        try:
            user = idp.admin_create_user(
                UserPoolId=self.pool, Username=account.email, MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": account.email},
                                {"Name": "email_verified", "Value": "true" if account.verified else "false"}],
            )["User"]
        except idp.exceptions.UsernameExistsException as exc:
            raise Conflict(f"an account for {account.email} exists already; sign in at POST /auth/token") from exc
        except idp.exceptions.InvalidParameterException as exc:
            raise ValidationFailed("the account is invalid",
                                   errors=[FieldError("email", str(exc.response["Error"]["Message"]))]) from exc
        try:
            idp.admin_set_user_password(UserPoolId=self.pool, Username=account.email,
                                        Password=account.password, Permanent=True)
            for group in account.groups:
                try:
                    idp.admin_add_user_to_group(UserPoolId=self.pool, Username=account.email, GroupName=group)
                except idp.exceptions.ResourceNotFoundException:
                    idp.create_group(UserPoolId=self.pool, GroupName=group)
                    idp.admin_add_user_to_group(UserPoolId=self.pool, Username=account.email, GroupName=group)
        except Exception as exc:
            # nothing half-written: an account without its password or its groups (a program
            # account that would sign in as an applicant) is removed again
            idp.admin_delete_user(UserPoolId=self.pool, Username=account.email)
            if isinstance(exc, idp.exceptions.InvalidPasswordException):
                raise ValidationFailed("the password is too weak", errors=[FieldError(
                    "password", "at least 8 characters with a lower-case letter and a digit")]) from exc
            if isinstance(exc, idp.exceptions.TooManyRequestsException):
                raise TemporarilyUnavailable("the account service is busy; nothing was created, try again") from exc
            raise
        return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")

    def _user(self, sub: str) -> tuple[str | None, dict[str, str]]:
        """(username, attributes) of the account `sub`; (None, {}) when there is none."""
        users = self._idp.list_users(UserPoolId=self.pool, Filter=f'sub = "{sub.replace(chr(34), "")}"',
                                     Limit=1)["Users"]
        if not users:
            return None, {}
        return users[0]["Username"], {a["Name"]: a["Value"] for a in users[0]["Attributes"]}

    def mark_verified(self, sub: str, email: str) -> None:
        username, current = self._user(sub)
        if username is None or current.get("email", "").lower() != email.lower():
            raise NotFound("the account this link was sent to no longer exists with that email")
        self._idp.admin_update_user_attributes(UserPoolId=self.pool, Username=username,
                                               UserAttributes=[{"Name": "email_verified", "Value": "true"}])

    def email_of(self, sub: str) -> tuple[str, bool]:
        username, current = self._user(sub)
        if username is None or not current.get("email"):
            raise NotFound("this account no longer exists")
        return current["email"], current.get("email_verified") == "true"

    def authenticate(self, email: str, password: str) -> Tokens:
        idp = self._idp
        try:
            result = idp.initiate_auth(ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password})
        except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotFoundException) as exc:
            raise Unauthorized("the email or password is wrong") from exc
        except idp.exceptions.TooManyRequestsException as exc:
            raise TooManyRequests("too many sign-in attempts; wait a moment") from exc
        auth = result["AuthenticationResult"]
        return Tokens(access_token=auth["AccessToken"], id_token=auth["IdToken"],
                      expires_in=auth["ExpiresIn"], refresh_token=auth.get("RefreshToken"))
