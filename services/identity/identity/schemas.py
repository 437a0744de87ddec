"""Request and response models of /auth."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Field(min_length=8, max_length=256, description="at least 8 characters, with a digit")
    role: Literal["applicant", "program", "college", "admin"] | None = Field(
        None, description="administrators only: program, college or admin")
    program_code: str | None = Field(None, pattern=r"^[0-9]{3}$", description="with role=program")
    college: str | None = Field(None, min_length=2, max_length=40, description="with role=college")


class AccountOut(BaseModel):
    user_id: str
    email: str
    role: str
    groups: list[str]
    email_verified: bool = Field(description="false for a self sign-up until the emailed link is opened")


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=10, max_length=2000, description="the token of the emailed link")


class VerificationOut(BaseModel):
    email: str
    email_verified: bool


class ResendOut(BaseModel):
    email: str = Field(description="the account's address, where the new link was sent")
    sent: bool


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    id_token: str
    expires_in: int
    token_type: str = "Bearer"
    refresh_token: str | None = None
