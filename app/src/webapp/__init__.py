"""A small Flask service backed by PostgreSQL and Redis."""

__version__ = "1.0.0"

from webapp.app import create_app

__all__ = ["__version__", "create_app"]
