"""The HTML page: rendered with the current data, then kept live by static/js/app.js through the API."""

from __future__ import annotations

import logging

import psycopg2
import redis
from flask import Blueprint, render_template

from webapp import __version__
from webapp.services import PAGE_HITS_KEY, services

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    svc = services()
    try:
        hits = svc.cache.client.incr(PAGE_HITS_KEY)
    except redis.RedisError as exc:
        log.warning("page hit counter unavailable", extra={"error": type(exc).__name__})
        hits = None
    try:
        items, _ = svc.items.list(10, 0)
    except psycopg2.Error:
        items = None
    return render_template("index.html", hits=hits, items=items, version=__version__)
