"""The OpenAPI document tells the truth about errors: problem+json everywhere, 401 on secured routes."""
from gateway.app import create_app


def _spec():
    app = create_app({"TESTING": True, "RPC_CLIENT": object()})
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def test_every_error_response_is_problem_json():
    spec = _spec()
    assert "Problem" in spec["components"]["schemas"] and "Error" not in spec["components"]["schemas"]
    for name, response in spec["components"]["responses"].items():
        assert list(response.get("content", {})) == ["application/problem+json"], name
    for label, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if "$ref" in response or status.startswith(("1", "2", "3")):
                continue
            assert list(response["content"]) == ["application/problem+json"], f"{label} {status}"


def test_every_secured_route_documents_401():
    spec = _spec()
    secured = [(label, op) for label, op in _operations(spec) if op.get("security")]
    assert len(secured) > 10
    for label, operation in secured:
        assert "401" in operation["responses"], label


def test_every_company_route_documents_the_second_factor_policy_403():
    spec = _spec()
    company_routes = [(label, op) for label, op in _operations(spec)
                      if label.split(" ", 1)[1].startswith("/api/v1/companies/{company_id}") and op.get("security")]
    assert len(company_routes) > 10
    for label, operation in company_routes:
        assert "second_factor_setup_required" in operation["responses"]["403"]["description"], label
        assert list(operation["responses"]["403"]["content"]) == ["application/problem+json"], label
    policy = spec["paths"]["/api/v1/companies/{company_id}/second-factor-policy"]["put"]
    assert {"200", "403", "404", "409", "422"} <= set(policy["responses"])
