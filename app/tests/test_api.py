import socket

from webapp import __version__


def test_api_index_lists_the_endpoints(client):
    response = client.get("/api/")
    assert response.status_code == 200
    body = response.json
    assert body["version"] == __version__
    assert "GET /api/health" in body["endpoints"]
    assert "POST /api/items" in body["endpoints"]


def test_status_reports_version_host_uptime_and_stores(client):
    client.get("/")
    body = client.get("/api/status").json
    assert body["version"] == __version__
    assert body["hostname"] == socket.gethostname()
    assert body["uptime_seconds"] >= 0
    assert body["database"]["status"] == "ok"
    assert body["database"]["schema_version"] == 2
    assert body["database"]["server_version"].startswith(("15", "16", "17"))
    assert body["database"]["pool"]["size"] == 10
    assert body["cache"]["status"] == "ok"
    assert body["cache"]["page_hits"] == 1
    assert body["cache"]["server_version"]


def test_status_reports_stores_down_but_answers(client, services):
    services.stop("postgres")
    services.stop("redis")
    response = client.get("/api/status")
    assert response.status_code == 200
    assert response.json["database"]["status"] == "down"
    assert response.json["cache"]["status"] == "down"


def test_uptime_counts_from_the_server_start(settings, monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("WEBAPP_STARTED_AT", "1000")
    app = create_app(settings)
    body = app.test_client().get("/api/status").json
    assert body["started_at"] == "1970-01-01T00:16:40Z"
    assert body["uptime_seconds"] > 1_000_000


def test_metrics_count_requests_by_route_and_status(client):
    client.get("/api/items/424242")
    client.get("/api/health")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'webapp_http_requests_total{method="GET",route="/api/items/<int:item_id>",status="404"}' in text
    assert 'webapp_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/api/health"}' in text


def test_metrics_count_database_and_cache_errors(client, services):
    def value(text: str, prefix: str) -> float:
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.split()[-1])
        return 0.0

    before = client.get("/metrics").get_data(as_text=True)
    services.stop("postgres")
    services.stop("redis")
    client.get("/api/health")
    after = client.get("/metrics").get_data(as_text=True)
    assert (
        value(after, 'webapp_db_errors_total{operation="ping"}')
        == value(before, 'webapp_db_errors_total{operation="ping"}') + 1
    )
    assert 'webapp_http_requests_total{method="GET",route="/api/health",status="503"}' in after


def test_request_id_is_kept_or_made(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert len(made) == 32


def test_unknown_methods_do_not_create_metric_labels(client):
    assert client.open("/api/", method="BREW").status_code == 405
    assert 'method="BREW"' not in client.get("/metrics").get_data(as_text=True)


def test_unhandled_error_is_a_json_500(app, client, sql):
    with sql.cursor() as cur:
        cur.execute("ALTER TABLE items RENAME TO items_moved")
    try:
        response = client.get("/api/items")
    finally:
        with sql.cursor() as cur:
            cur.execute("ALTER TABLE items_moved RENAME TO items")
    assert response.status_code == 500
    assert response.json == {"error": {"status": 500, "message": "internal server error"}}
