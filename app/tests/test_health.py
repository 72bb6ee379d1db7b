import threading

import pytest


def test_liveness_does_no_io(client, services):
    assert client.get("/health").json == {"status": "ok"}
    services.stop("postgres")
    services.stop("redis")
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_readiness_reports_both_dependencies_with_latency(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok"
    for name in ("postgres", "redis"):
        assert body["checks"][name]["status"] == "ok"
        assert body["checks"][name]["latency_ms"] >= 0
    assert "failing" not in body


@pytest.mark.parametrize("down", [["postgres"], ["redis"], ["postgres", "redis"]])
def test_readiness_503_names_the_failing_dependency_and_recovers(client, services, down):
    assert client.get("/api/health").status_code == 200  # pools warm, connections idle
    for name in down:
        services.stop(name)
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "fail"
    assert body["failing"] == down
    for name in ("postgres", "redis"):
        assert body["checks"][name]["status"] == ("fail" if name in down else "ok")
    for name in down:
        services.start(name)
    # The very first request after the servers return must already succeed: stale pooled connections are dropped.
    recovered = client.get("/api/health")
    assert recovered.status_code == 200, recovered.json
    assert recovered.json["status"] == "ok"


def test_server_restart_costs_no_request(app, client, services):
    # Fill the pool with several idle connections, restart PostgreSQL, and read: no request may fail.
    db = app.extensions["webapp"].db
    held = [db._acquire() for _ in range(3)]
    for conn in held:
        db._release(conn)
    assert db.stats()["idle"] == 3
    services.stop("postgres")
    services.start("postgres")
    assert client.get("/api/items").status_code == 200
    assert client.get("/api/health").status_code == 200


def test_concurrent_readiness_reuses_pooled_connections(app):
    statuses = []

    def hit():
        with app.test_client() as c:
            for _ in range(20):
                statuses.append(c.get("/api/health").status_code)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 160
    stats = app.extensions["webapp"].db.stats()
    # Connections are kept, not opened per request, and never more than the pool size.
    assert 1 <= stats["open"] <= stats["size"]
    assert stats["idle"] == stats["open"]
