def _rename_behind_the_apps_back(sql, item_id: int, name: str) -> None:
    with sql.cursor() as cur:
        cur.execute("UPDATE items SET name = %s WHERE id = %s", (name, item_id))


def test_item_reads_are_served_from_redis(client, sql, rds):
    item = client.post("/api/items", json={"name": "original"}).json
    first = client.get(f"/api/items/{item['id']}")
    assert first.headers["X-Cache"] == "MISS"
    second = client.get(f"/api/items/{item['id']}")
    assert second.headers["X-Cache"] == "HIT"
    assert second.json == first.json
    # Change the row directly in PostgreSQL: a cached read does not see it, which proves it came from Redis.
    _rename_behind_the_apps_back(sql, item["id"], "changed in the database")
    cached = client.get(f"/api/items/{item['id']}")
    assert cached.headers["X-Cache"] == "HIT"
    assert cached.json["name"] == "original"
    assert rds.keys("webapp:items:[0-9]*")


def test_a_write_invalidates_cached_items_and_lists(client, sql):
    item = client.post("/api/items", json={"name": "original"}).json
    client.get(f"/api/items/{item['id']}")
    client.get("/api/items")
    assert client.get("/api/items").headers["X-Cache"] == "HIT"
    _rename_behind_the_apps_back(sql, item["id"], "renamed")

    other = client.post("/api/items", json={"name": "another"}).json  # a write: invalidates everything cached

    fresh = client.get(f"/api/items/{item['id']}")
    assert fresh.headers["X-Cache"] == "MISS"
    assert fresh.json["name"] == "renamed"
    listing = client.get("/api/items")
    assert listing.headers["X-Cache"] == "MISS"
    assert [i["name"] for i in listing.json["items"]] == ["another", "renamed"]

    client.delete(f"/api/items/{other['id']}")  # a delete invalidates too
    listing = client.get("/api/items")
    assert listing.headers["X-Cache"] == "MISS"
    assert [i["id"] for i in listing.json["items"]] == [item["id"]]


def test_deleted_item_is_not_served_from_the_cache(client):
    item = client.post("/api/items", json={"name": "short-lived"}).json
    assert client.get(f"/api/items/{item['id']}").status_code == 200
    assert client.get(f"/api/items/{item['id']}").headers["X-Cache"] == "HIT"
    client.delete(f"/api/items/{item['id']}")
    assert client.get(f"/api/items/{item['id']}").status_code == 404


def test_not_found_is_not_cached(client, rds):
    client.get("/api/items/999")
    assert rds.keys("webapp:items:[0-9]*") == []


def test_cache_entries_expire(client, rds):
    item = client.post("/api/items", json={"name": "ttl"}).json
    client.get(f"/api/items/{item['id']}")
    (key,) = rds.keys("webapp:items:[0-9]*")
    assert 0 < rds.ttl(key) <= 60


def test_reads_and_writes_work_without_redis(client, services, rds):
    item = client.post("/api/items", json={"name": "before"}).json
    services.stop("redis")
    read = client.get(f"/api/items/{item['id']}")
    assert read.status_code == 200
    assert read.headers["X-Cache"] == "BYPASS"
    created = client.post("/api/items", json={"name": "during"})
    assert created.status_code == 201
    assert created.json["name"] == "during"
    assert client.delete(f"/api/items/{item['id']}").status_code == 204
    listing = client.get("/api/items")
    assert listing.headers["X-Cache"] == "BYPASS"
    assert [i["name"] for i in listing.json["items"]] == ["during"]


def test_failed_cache_store_still_answers(app, client, rds):
    # Redis refuses writes when it is out of memory: the read must still be answered from PostgreSQL.
    item = client.post("/api/items", json={"name": "no room"}).json
    rds.config_set("maxmemory", "1")
    rds.config_set("maxmemory-policy", "noeviction")
    try:
        response = client.get(f"/api/items/{item['id']}")
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "MISS"
        assert rds.keys("webapp:items:[0-9]*") == []
        # INCR is refused too: the write succeeds, the failed invalidation is logged and counted.
        assert client.post("/api/items", json={"name": "still written"}).status_code == 201
    finally:
        rds.config_set("maxmemory", "0")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'webapp_cache_errors_total{operation="write"}' in metrics
    assert 'webapp_cache_errors_total{operation="invalidate"}' in metrics
