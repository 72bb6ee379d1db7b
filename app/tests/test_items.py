def test_create_get_list_delete(client, item_count):
    created = client.post("/api/items", json={"name": " Bolt ", "description": "M6", "quantity": 40})
    assert created.status_code == 201
    item = created.json
    assert item["name"] == "Bolt"
    assert item["description"] == "M6"
    assert item["quantity"] == 40
    assert created.headers["Location"] == f"/api/items/{item['id']}"
    assert item_count() == 1

    assert client.get(f"/api/items/{item['id']}").json == item
    listed = client.get("/api/items").json
    assert listed["items"] == [item]
    assert listed["limit"] == 20
    assert listed["offset"] == 0

    deleted = client.delete(f"/api/items/{item['id']}")
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert item_count() == 0
    assert client.get(f"/api/items/{item['id']}").status_code == 404
    assert client.delete(f"/api/items/{item['id']}").status_code == 404


def test_defaults_for_optional_fields(client):
    item = client.post("/api/items", json={"name": "Nut"}).json
    assert item["description"] == ""
    assert item["quantity"] == 0


def test_list_is_newest_first_and_pages(client):
    ids = [client.post("/api/items", json={"name": f"item {n}"}).json["id"] for n in range(5)]
    page = client.get("/api/items?limit=2&offset=1").json
    assert [i["id"] for i in page["items"]] == [ids[3], ids[2]]
    assert page["limit"] == 2
    assert page["offset"] == 1
    assert len(client.get("/api/items?limit=100").json["items"]) == 5


def test_writes_are_503_while_the_database_is_down(client, services, item_count):
    services.stop("postgres")
    response = client.post("/api/items", json={"name": "lost"})
    assert response.status_code == 503
    assert response.json["error"]["message"] == "database unavailable"
    assert client.delete("/api/items/1").status_code == 503
    assert client.get("/api/items/1").status_code == 503
    services.start("postgres")
    assert item_count() == 0


def test_pool_exhaustion_is_a_503_after_the_pool_timeout(app, client):
    db = app.extensions["webapp"].db
    db.timeout = 0.2
    held = [db._acquire() for _ in range(db.size)]
    try:
        response = client.get("/api/health")
        assert response.status_code == 503
        assert response.json["checks"]["postgres"]["error"] == "PoolTimeout"
        assert client.post("/api/items", json={"name": "x"}).status_code == 503
    finally:
        for conn in held:
            db._release(conn)
    assert client.get("/api/health").status_code == 200
