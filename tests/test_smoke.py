import requests

from tests.helpers import DOCS_FORM


def test_documented_example(am):
    r = requests.post(am.token_url, data=DOCS_FORM)
    assert r.status_code == 200
    assert list(r.json()) == ["access_token", "scope", "token_type", "expires_in"]
