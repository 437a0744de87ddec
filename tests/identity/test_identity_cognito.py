"""The Cognito directory never leaves a half-made account behind."""

import boto3
import pytest

from identity.adapters.cognito import CognitoDirectory
from identity.domain.accounts import NewAccount
from shared.errors import Conflict, NotFound, TemporarilyUnavailable, ValidationFailed

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(aws):
    idp = boto3.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="t")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c",
                                            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    return idp, pool_id, client_id


class FailingGroups:
    """The real client, except that adding to a group is throttled."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def admin_add_user_to_group(self, **kwargs):
        raise self._real.exceptions.TooManyRequestsException(
            {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "AdminAddUserToGroup")


def _users(idp, pool_id):
    return [u["Username"] for u in idp.list_users(UserPoolId=pool_id)["Users"]]


def test_program_account_with_its_groups(pool):
    idp, pool_id, client_id = pool
    directory = CognitoDirectory(pool_id, client_id, client=idp)
    directory.create(NewAccount("p@test.org", "Secret-pass1!", "program", ("program", "program-123")))
    groups = {g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="p@test.org")["Groups"]}
    assert groups == {"program", "program-123"}
    with pytest.raises(Conflict):
        directory.create(NewAccount("p@test.org", "Secret-pass1!", "program", ("program", "program-123")))


def test_failed_group_assignment_removes_the_account(pool):
    idp, pool_id, client_id = pool
    directory = CognitoDirectory(pool_id, client_id, client=FailingGroups(idp))
    with pytest.raises(TemporarilyUnavailable):
        directory.create(NewAccount("p@test.org", "Secret-pass1!", "program", ("program", "program-123")))
    assert _users(idp, pool_id) == []  # not left behind as an account without its role


def test_weak_password_removes_the_account(pool):
    idp, pool_id, client_id = pool
    idp.update_user_pool(UserPoolId=pool_id, Policies={"PasswordPolicy": {"MinimumLength": 12}})
    directory = CognitoDirectory(pool_id, client_id, client=idp)
    with pytest.raises(ValidationFailed):
        directory.create(NewAccount("a@test.org", "short-pw1", "applicant", ("applicant",)))
    assert _users(idp, pool_id) == []


def test_email_of_tells_the_address_and_whether_it_is_proven(pool):
    idp, pool_id, client_id = pool
    directory = CognitoDirectory(pool_id, client_id, client=idp)
    sub = directory.create(NewAccount("a@test.org", "Secret-pass1!", "applicant", ("applicant",)))
    assert directory.email_of(sub) == ("a@test.org", False)
    directory.mark_verified(sub, "a@test.org")
    assert directory.email_of(sub) == ("a@test.org", True)
    with pytest.raises(NotFound):
        directory.email_of("00000000-0000-0000-0000-000000000000")
