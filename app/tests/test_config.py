import pytest

from webapp import config

GOOD = {
    "DATABASE_URL": "postgresql://app:s3cret@db.internal:5432/app",
    "REDIS_URL": "redis://:s3cret@cache.internal:6379/0",
    "SECRET_KEY": "k" * 32,
}


def test_valid_environment_with_defaults():
    settings = config.load(GOOD)
    assert settings.database_url == GOOD["DATABASE_URL"]
    assert settings.log_level == "INFO"
    assert settings.db_pool_size == 10
    assert settings.cache_ttl == 60
    assert settings.max_body_bytes == 16 * 1024


def test_optional_settings_are_parsed():
    settings = config.load(
        {**GOOD, "DB_POOL_SIZE": "4", "REDIS_TIMEOUT": "0.25", "LOG_LEVEL": "debug", "APP_BUILD": "abc123"}
    )
    assert settings.db_pool_size == 4
    assert settings.redis_timeout == 0.25
    assert settings.log_level == "DEBUG"
    assert settings.app_build == "abc123"


def test_other_url_forms_are_accepted():
    config.load({**GOOD, "DATABASE_URL": "postgres://app@db/app", "REDIS_URL": "unix:///run/redis.sock?db=1"})
    config.load({**GOOD, "REDIS_URL": "rediss://cache:6380/2"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
        ({"DATABASE_URL": "mysql://app:s3cret@db/app"}, "DATABASE_URL must start with postgresql://"),
        ({"DATABASE_URL": "postgresql://app:s3cret@db:5432"}, "DATABASE_URL names no database"),
        ({"DATABASE_URL": "postgresql:///app"}, "DATABASE_URL names no host"),
        ({"DATABASE_URL": "postgresql://app:s3cret@db:port/app"}, "DATABASE_URL has a port that is not a number"),
        ({"DATABASE_URL": "postgresql://app:s3cret@db/app?nonsense=1"}, "DATABASE_URL is malformed"),
        ({"REDIS_URL": " "}, "REDIS_URL is not set"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL must start with redis://"),
        ({"REDIS_URL": "redis://:s3cret@cache:port/0"}, "REDIS_URL is malformed"),
        ({"REDIS_URL": "redis:///0"}, "REDIS_URL names no host"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too short"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"DB_POOL_SIZE": "ten"}, "DB_POOL_SIZE must be a number between 1 and 500"),
        ({"DB_POOL_SIZE": "0"}, "DB_POOL_SIZE must be between 1 and 500"),
        ({"CACHE_TTL": "-5"}, "CACHE_TTL must be between"),
    ],
)
def test_bad_settings_give_one_line_naming_the_variable(overrides, message):
    env = {**GOOD, **overrides}
    with pytest.raises(config.ConfigError) as caught:
        config.load(env)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert "s3cret" not in text


def test_reads_os_environ_by_default(monkeypatch):
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    assert config.load().redis_url == GOOD["REDIS_URL"]


def test_create_app_without_settings_reads_the_environment(monkeypatch):
    from webapp import create_app

    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    assert create_app().extensions["webapp"].settings.secret_key == GOOD["SECRET_KEY"]
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(config.ConfigError):
        create_app()


def test_settings_can_come_from_files(tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        (tmp_path / name).write_text(GOOD[name] + "\n")
    env = {f"{name}_FILE": str(tmp_path / name) for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    settings = config.load({**env, "DATABASE_URL": "postgresql://ignored@elsewhere/x"})
    assert settings.database_url == GOOD["DATABASE_URL"]
    assert settings.redis_url == GOOD["REDIS_URL"]
    assert settings.secret_key == GOOD["SECRET_KEY"]


def test_unreadable_setting_file_gives_one_line(tmp_path):
    with pytest.raises(config.ConfigError) as caught:
        config.load({**GOOD, "SECRET_KEY_FILE": str(tmp_path / "missing")})
    assert str(caught.value) == "SECRET_KEY_FILE names a file that cannot be read (No such file or directory)"
