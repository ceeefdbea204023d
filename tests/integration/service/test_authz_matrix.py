from fastapi.testclient import TestClient


def test_explore(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p, ops in paths.items():
        for m in ops:
            print(m.upper(), p)
    raise AssertionError
