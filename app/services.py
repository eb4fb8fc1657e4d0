"""The long-lived parts of a running server, built once by the app factory's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.passwords import PasswordHashing
from app.ratelimit import SlidingWindowLimit
from app.settings import Settings
from app.throttle import LoginThrottle
from crdt.rooms import Rooms
from crdt.store import UpdateStore


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: UpdateStore
    rooms: Rooms
    login_throttle: LoginThrottle
    passwords: PasswordHashing
    registrations: SlidingWindowLimit
