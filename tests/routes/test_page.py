"""The chat page's routes: files and their headers, the page config, dev sign-in, FACEPLATE_WEB."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.routes.page import PAGE_DIR
from faceplate.settings import Settings
from faceplate.web.static import load_assets
from tests.routes.helpers import Headers, assert_error
from tests.support.app import bearer
from tests.support.jwks import DEFAULT_CLIENT_ID, JwksServer

LOCAL = "http://127.0.0.1"


@pytest.fixture
def cognito(database_url: str, tmp_path: Path, jwks: JwksServer) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auth="cognito",
        jwt_issuer=jwks.issuer,
        cognito_client_ids=(DEFAULT_CLIENT_ID, "other"),
        secret_key=Fernet.generate_key().decode(),
        cognito_domain="https://auth.example.com",
        db_pool_min=1,
    )
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        yield client


@pytest.fixture
def web_off(settings: Settings) -> Iterator[TestClient]:
    off = msgspec.structs.replace(settings, web=False)
    with TestClient(create_app(off), base_url=LOCAL) as client:
        yield client


def _csp(client: TestClient) -> dict[str, str]:
    header = client.get("/").headers["content-security-policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_the_page_is_served_at_the_root_with_strict_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/assets/js/main.js">' in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    csp = _csp(client)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["connect-src"] == "'self' ws://testserver wss://testserver"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in client.get("/").headers["content-security-policy"]
    assert "<script>" not in response.text  # nothing inline: the policy would refuse it


def test_a_host_header_of_odd_characters_adds_no_origin_to_the_policy(client: TestClient) -> None:
    response = client.get("/", headers={"Host": "a b;script-src *"})
    assert "connect-src 'self';" in response.headers["content-security-policy"]


def test_head_of_the_page_has_its_length_and_no_body(client: TestClient) -> None:
    response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(client.get("/").content)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/assets/js/main.js", "text/javascript; charset=utf-8"),
        ("/assets/vendor/dompurify/purify.es.mjs", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_content_type(client: TestClient, path: str, content_type: str) -> None:
    response = client.get(path, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"


def test_an_asset_is_revalidated_by_its_etag(client: TestClient) -> None:
    first = client.get("/assets/js/socket.js", headers={"Accept-Encoding": "identity"})
    etag = first.headers["etag"]
    again = client.get(
        "/assets/js/socket.js", headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
    )
    assert again.status_code == 304
    assert again.content == b""
    changed = client.get(
        "/assets/js/socket.js", headers={"If-None-Match": '"other"', "Accept-Encoding": "identity"}
    )
    assert changed.status_code == 200


def test_a_client_that_takes_gzip_gets_the_same_bytes_compressed(client: TestClient) -> None:
    path = "/assets/vendor/marked/marked.esm.js"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as packed:
        raw = b"".join(packed.iter_raw())
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["vary"] == "Accept-Encoding"
        assert packed.headers["etag"] != plain.headers["etag"]
    assert len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content


@pytest.mark.parametrize(
    "path",
    [
        "/assets/nothing.js",
        "/assets/vendor/marked/LICENSE",
        "/assets/vendor/README.md",
        "/assets/../settings.py",
        "/assets/%2e%2e/routes/page.py",
        "/assets/",
    ],
)
def test_only_the_page_files_are_served(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


def test_every_module_the_page_imports_is_shipped() -> None:
    assets = load_assets(PAGE_DIR)
    pattern = re.compile(r"""(?:import|from)\s*["']([^"']+)["']""")
    for name in [n for n in assets if n.startswith("js/")]:
        text = assets[name].body.decode()
        for target in pattern.findall(text):
            resolved = (Path("/") / name).parent / target
            key = str(resolved.resolve()).lstrip("/")
            assert key in assets, f"{name} imports {target}, which is not served"
    index = assets["index.html"].body.decode()
    for target in re.findall(r'(?:src|href)="/assets/([^"]+)"', index):
        assert target in assets


def test_the_dev_config_says_dev(client: TestClient) -> None:
    response = client.get("/page/config")
    assert response.json() == {"auth": "dev", "cognito": None}
    assert response.headers["cache-control"] == "no-store"


def test_the_cognito_config_names_the_hosted_ui_and_the_first_client(
    cognito: TestClient,
) -> None:
    assert cognito.get("/page/config").json() == {
        "auth": "cognito",
        "cognito": {
            "domain": "https://auth.example.com",
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": None,
        },
    }
    assert _csp(cognito)["connect-src"].endswith(" https://auth.example.com")


def test_dev_sign_in_mints_a_token_the_api_accepts(client: TestClient) -> None:
    response = client.post(f"{LOCAL}/page/dev-token", json={"email": "page@example.com"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    headers: Headers = bearer(response.json()["token"])
    me = client.get("/v1/me", headers=headers)
    assert me.json()["email"] == "page@example.com"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "invalid_json"),
        (b'{"email": "no-at-sign"}', 422, "validation_error"),
        (b'{"email": "a@b.c", "ttl_s": 1}', 422, "validation_error"),
        (b'{"email": "a@b.c", "extra": 1}', 422, "validation_error"),
    ],
)
def test_dev_sign_in_refuses_bad_bodies(
    client: TestClient, body: bytes, status: int, code: str
) -> None:
    assert_error(client.post(f"{LOCAL}/page/dev-token", content=body), status, code)


def test_dev_sign_in_answers_only_local_names(client: TestClient) -> None:
    for host in ("localhost:8000", "[::1]:8000", "10.1.2.3", "dev.localhost"):
        ok = client.post("/page/dev-token", json={"email": "a@b.c"}, headers={"Host": host})
        assert ok.status_code == 200, host
    refused = client.post(
        "/page/dev-token", json={"email": "a@b.c"}, headers={"Host": "rebound.example.com"}
    )
    assert_error(refused, 404, "not_found")


def test_dev_sign_in_takes_post_only(client: TestClient) -> None:
    assert_error(client.get(f"{LOCAL}/page/dev-token"), 405, "method_not_allowed")


def test_dev_sign_in_does_not_exist_in_cognito_mode(cognito: TestClient) -> None:
    assert_error(cognito.post("/page/dev-token", json={"email": "a@b.c"}), 404, "not_found")
    assert_error(cognito.get("/page/dev-token"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("HEAD", "/"),
        ("POST", "/"),
        ("GET", "/assets/js/main.js"),
        ("GET", "/page/config"),
        ("POST", "/page/dev-token"),
    ],
)
def test_with_the_page_off_none_of_its_routes_exists(
    web_off: TestClient, method: str, path: str
) -> None:
    response = web_off.request(method, path)
    assert response.status_code == 404
    if method != "HEAD":
        assert_error(response, 404, "not_found")
    assert web_off.get("/healthz").status_code == 200


def test_the_page_routes_are_not_in_the_api_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1", "/healthz", "/readyz"))]
