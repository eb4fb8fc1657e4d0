"""Request and response bodies of the public API (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator


class RegisterIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("name must not be blank")
        return name


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class DocumentIn(BaseModel):
    title: str = Field(default="Untitled", max_length=300)


class DocumentPatch(BaseModel):
    title: str = Field(max_length=300)


class DocumentOut(BaseModel):
    id: str
    title: str
    role: str
    owner_id: str
    created_at: datetime
    updated_at: datetime


class TicketOut(BaseModel):
    ticket: str
    expires_in: float


class HealthOut(BaseModel):
    status: str
    database: bool
    rooms: int
    connections: int
    pending_writes: int
    write_batches: int
    updates_written: int
    write_failures: int
