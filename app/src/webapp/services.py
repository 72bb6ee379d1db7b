"""The per-app objects (settings, pools, stores) that views reach through current_app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from webapp.cache import Cache
from webapp.config import Settings
from webapp.db import Database
from webapp.items import ItemStore

PAGE_HITS_KEY = "webapp:page_hits"


@dataclass
class Services:
    settings: Settings
    db: Database
    cache: Cache
    items: ItemStore
    started_at: float


def services() -> Services:
    return current_app.extensions["webapp"]
