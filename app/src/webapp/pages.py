"""The HTML page: rendered with the current data, then kept live by static/js/app.js through the API.

The page changes only when the items do, and its hit counter: it is rendered once per generation of the item cache
with a placeholder for the counter (kept in Redis beside the items it shows, so a write is on the next view), and
each view is one Redis round trip that counts it and fetches the page."""

from __future__ import annotations

import logging

import psycopg2
import redis
from flask import Blueprint, render_template, request

from webapp import __version__
from webapp.services import PAGE_HITS_KEY, services

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)
HITS = "@@page-hits@@"


def _render() -> tuple[str, bool]:
    """The page with the placeholder for the hit counter; only a page that shows the items is kept."""
    try:
        items, _ = services().items.list(10, 0)
    except psycopg2.Error:
        items = None
    return render_template("index.html", hits=HITS, items=items, version=__version__), items is not None


@bp.get("/")
def index():
    try:
        hits, page = services().items.page_view(PAGE_HITS_KEY, f"page:{request.script_root}", _render)
    except redis.RedisError as exc:
        log.warning("page hit counter unavailable", extra={"error": type(exc).__name__})
        hits, (page, _) = None, _render()
    return page.replace(HITS, str(hits) if hits is not None else "n/a")
