import json

import pytest


def post_raw(client, data, content_type="application/json"):
    return client.post("/api/items", data=data, content_type=content_type)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ('{"name": "x",', 400, "body is not valid JSON"),
        ("", 400, "body is not valid JSON"),
        (b"\xff\xfe{}", 400, "body is not valid JSON"),
        ("[1, 2]", 422, "body must be a JSON object"),
        ('"just a string"', 422, "body must be a JSON object"),
        ("null", 422, "body must be a JSON object"),
        ("{}", 422, "name is required"),
        ('{"description": "no name"}', 422, "name is required"),
        ('{"name": 42}', 422, "name must be a string"),
        ('{"name": null}', 422, "name must be a string"),
        ('{"name": ["a"]}', 422, "name must be a string"),
        ('{"name": "   "}', 422, "name must not be empty"),
        ('{"name": "' + "n" * 101 + '"}', 422, "name must be at most 100 characters"),
        ('{"name": "a\\u0000b"}', 422, "name must not contain NUL characters"),
        ('{"name": "a\\ud800b"}', 422, "name must be valid Unicode text"),
        ('{"name": "x", "description": 5}', 422, "description must be a string"),
        ('{"name": "x", "description": "' + "d" * 1001 + '"}', 422, "description must be at most 1000 characters"),
        ('{"name": "x", "quantity": "3"}', 422, "quantity must be an integer"),
        ('{"name": "x", "quantity": 1.5}', 422, "quantity must be an integer"),
        ('{"name": "x", "quantity": true}', 422, "quantity must be an integer"),
        ('{"name": "x", "quantity": -1}', 422, "quantity must be between 0 and 1000000"),
        ('{"name": "x", "quantity": 99999999999999999999}', 422, "quantity must be between 0 and 1000000"),
        ('{"name": "x", "id": 7}', 422, "unknown field(s): id"),
        ("[" * 5000 + "]" * 5000, 400, "body is not valid JSON"),
        ('{"name": "x", "quantity": ' + "9" * 5000 + "}", 400, "body is not valid JSON"),
    ],
)
def test_invalid_bodies_are_rejected_and_nothing_is_written(client, item_count, data, status, message):
    response = post_raw(client, data)
    assert response.status_code == status
    assert response.json == {"error": {"status": status, "message": message}}
    assert item_count() == 0


def test_wrong_content_type_is_415(client, item_count):
    response = post_raw(client, "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["error"]["message"] == "Content-Type must be application/json"
    assert item_count() == 0


def test_oversize_body_is_413(client, item_count):
    body = json.dumps({"name": "x", "description": "d" * 20_000})
    response = post_raw(client, body)
    assert response.status_code == 413
    assert response.json["error"]["status"] == 413
    assert item_count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/items/0",
        "/api/items/123456",
        "/api/items/9223372036854775807",
        "/api/items/9223372036854775808",
        "/api/items/-1",
        "/api/items/abc",
        "/api/items/1.5",
    ],
)
def test_unknown_ids_are_json_404(client, path):
    for method in ("GET", "DELETE"):
        response = client.open(path, method=method)
        assert response.status_code == 404, (method, path)
        assert response.json["error"]["status"] == 404


def test_wrong_method_is_json_405_with_allow(client):
    response = client.put("/api/items/1", json={"name": "x"})
    assert response.status_code == 405
    assert response.json["error"]["status"] == 405
    assert "DELETE" in response.headers["Allow"]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=x", "offset=-1", "limit=1%20OR%201=1", "limit=%C2%B2", "offset=" + "9" * 5000],
)
def test_bad_list_parameters_are_400(client, query):
    response = client.get(f"/api/items?{query}")
    assert response.status_code == 400
    assert response.json["error"]["status"] == 400


def test_sql_injection_is_stored_as_text_and_runs_nothing(client, sql, item_count):
    attacks = [
        "x'); DROP TABLE items; --",
        "' OR '1'='1",
        "1; DELETE FROM items",
        "Robert'); TRUNCATE schema_migrations; --",
    ]
    ids = []
    for attack in attacks:
        created = client.post("/api/items", json={"name": attack, "description": attack})
        assert created.status_code == 201
        ids.append(created.json["id"])
    for item_id, attack in zip(ids, attacks, strict=True):
        assert client.get(f"/api/items/{item_id}").json["name"] == attack
    assert client.get("/api/items/1%20OR%201=1").status_code == 404
    assert client.delete("/api/items/1;DROP%20TABLE%20items").status_code == 404
    assert item_count() == len(attacks)
    with sql.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] == 2
