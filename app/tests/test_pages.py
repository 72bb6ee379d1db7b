import re

import flask
import pytest


def test_index_renders_layout_components_and_live_data(client, rds):
    client.post("/api/items", json={"name": "Rendered widget", "quantity": 7})
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert '<script src="/static/js/app.js" defer></script>' in html
    assert 'src="/static/img/logo.svg"' in html
    assert 'id="card-postgres"' in html  # the status_card component
    assert "Rendered widget" in html  # the item_row component, from PostgreSQL
    assert re.search(r'id="page-hits">1<', html)
    assert int(rds.get("webapp:page_hits")) == 1


def test_hit_counter_counts_in_redis(client, rds):
    for _ in range(3):
        client.get("/")
    assert int(rds.get("webapp:page_hits")) == 3
    assert re.search(r'id="page-hits">4<', client.get("/").get_data(as_text=True))


def test_index_still_renders_without_its_stores(client, services):
    services.stop("postgres")
    services.stop("redis")
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The database is unavailable." in html
    assert re.search(r'id="page-hits">n/a<', html)


def test_static_assets_are_served(client):
    for path, mimetype in [
        ("/static/css/app.css", "text/css"),
        ("/static/js/app.js", "text/javascript"),
        ("/static/img/logo.svg", "image/svg+xml"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == mimetype
        assert response.content_length > 100
        response.close()


def test_security_headers_on_pages(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_page_is_an_html_404_for_browsers(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "<h1>404 Not Found</h1>" in response.get_data(as_text=True)


def test_unknown_page_is_json_for_json_clients(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404


def test_the_page_is_rendered_once_per_generation_and_a_write_shows_on_the_next_view(client, rds, app):
    client.post("/api/items", json={"name": "First widget"})
    renders = []
    original = app.jinja_env.get_template

    def counting(name, *args, **kwargs):
        if name == "index.html":
            renders.append(name)
        return original(name, *args, **kwargs)

    app.jinja_env.get_template = counting
    try:
        first = client.get("/").get_data(as_text=True)
        second = client.get("/").get_data(as_text=True)
        client.post("/api/items", json={"name": "Second widget"})
        third = client.get("/").get_data(as_text=True)
    finally:
        app.jinja_env.get_template = original
    assert "First widget" in first
    assert "Second widget" not in second
    assert "Second widget" in third  # the write is on the very next view
    assert len(renders) == 2  # the first view and the one after the write
    assert [re.search(r'id="page-hits">(\d+)<', page).group(1) for page in (first, second, third)] == ["1", "2", "3"]


def test_a_redis_restart_loses_the_pages_with_the_generation(client, rds, sql):
    client.post("/api/items", json={"name": "Before the flush"})
    client.get("/")
    rds.flushall()  # what a Redis restart without persistence does
    with sql.cursor() as cur:
        cur.execute("DELETE FROM items")
    assert "Before the flush" not in client.get("/").get_data(as_text=True)


def test_no_session_cookie_is_opened_or_set(app, client):
    """The app keeps no per-user state: no Set-Cookie, and code that tried to store in the session would fail."""
    response = client.get("/", headers={"Cookie": "session=forged"})
    assert "Set-Cookie" not in response.headers
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="session is unavailable"):
        flask.session["user"] = "x"
