import re


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
