"""Settings from the environment, validated once at start.

Every problem becomes a ConfigError whose message is one line naming the variable and what is expected. The message
never echoes a value: URLs carry passwords.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg2.extensions
import redis.connection

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(Exception):
    """A missing or malformed setting; str() is the one line an operator sees."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    secret_key: str
    log_level: str = "INFO"
    db_pool_size: int = 10
    redis_pool_size: int = 10
    db_pool_timeout: float = 5.0
    db_connect_timeout: int = 3
    db_statement_timeout_ms: int = 5000
    redis_timeout: float = 1.0
    cache_ttl: int = 60
    max_body_bytes: int = 16 * 1024
    app_build: str = ""


# Settings that may come from a file instead (NAME_FILE=/run/secrets/name): how Docker and Kubernetes hand secrets
# to a container without putting them in its environment.
FILE_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")


def _with_files(env: Mapping[str, str]) -> dict[str, str]:
    """Return env with every NAME_FILE of FILE_SETTINGS read into NAME (the file wins over NAME)."""
    resolved = dict(env)
    for name in FILE_SETTINGS:
        path = env.get(f"{name}_FILE", "").strip()
        if not path:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                resolved[name] = handle.read().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE names a file that cannot be read ({exc.strerror})") from None
    return resolved


def _required(env: Mapping[str, str], name: str, hint: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set (expected {hint})")
    return value


def _database_url(env: Mapping[str, str]) -> str:
    hint = "postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
    url = _required(env, "DATABASE_URL", hint)
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"DATABASE_URL must start with postgresql:// (expected {hint})")
    try:
        dsn = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        raise ConfigError(f"DATABASE_URL is malformed (expected {hint})") from None
    if not dsn.get("host"):
        raise ConfigError(f"DATABASE_URL names no host (expected {hint})")
    if not dsn.get("port", "5432").isdigit():
        raise ConfigError(f"DATABASE_URL has a port that is not a number (expected {hint})")
    if not dsn.get("dbname"):
        raise ConfigError(f"DATABASE_URL names no database (expected {hint})")
    return url


def _redis_url(env: Mapping[str, str]) -> str:
    hint = "redis://[:PASSWORD@]HOST:PORT/DB"
    url = _required(env, "REDIS_URL", hint)
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix:// (expected {hint})")
    try:
        parsed = redis.connection.parse_url(url)
    except ValueError:
        raise ConfigError(f"REDIS_URL is malformed (expected {hint})") from None
    if "path" not in parsed and not parsed.get("host"):
        raise ConfigError(f"REDIS_URL names no host (expected {hint})")
    return url


def _number(env: Mapping[str, str], name: str, default, cast, low, high):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number between {low} and {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError on the first problem."""
    env = _with_files(os.environ if env is None else env)
    database_url = _database_url(env)
    redis_url = _redis_url(env)
    secret_key = _required(env, "SECRET_KEY", f"a random string of at least {MIN_SECRET_KEY_LENGTH} characters")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SECRET_KEY is too short (at least {MIN_SECRET_KEY_LENGTH} characters)")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        log_level=log_level,
        db_pool_size=_number(env, "DB_POOL_SIZE", 10, int, 1, 500),
        redis_pool_size=_number(env, "REDIS_POOL_SIZE", 10, int, 1, 500),
        db_pool_timeout=_number(env, "DB_POOL_TIMEOUT", 5.0, float, 0.1, 60),
        db_connect_timeout=_number(env, "DB_CONNECT_TIMEOUT", 3, int, 1, 60),
        db_statement_timeout_ms=_number(env, "DB_STATEMENT_TIMEOUT_MS", 5000, int, 100, 600_000),
        redis_timeout=_number(env, "REDIS_TIMEOUT", 1.0, float, 0.05, 30),
        cache_ttl=_number(env, "CACHE_TTL", 60, int, 1, 86_400),
        max_body_bytes=_number(env, "MAX_BODY_BYTES", 16 * 1024, int, 1024, 10 * 1024 * 1024),
        app_build=env.get("APP_BUILD", "").strip(),
    )
