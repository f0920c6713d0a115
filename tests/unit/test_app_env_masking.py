"""What is masked of the app's environment in anything the role prints (app_env.mask)."""
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env

ENV = {"PAYMENTS_URL": "https://shop:pa55-w0rd-x@payments.example/v1/charge?key=sk_live_abc123",
       "DEBUG": "1", "WORKERS": 3, "SHORT": "abcd"}


def test_a_value_is_masked_whole_and_by_the_parts_an_error_quotes():
    lines = app_env.mask([
        "cannot reach https://shop:pa55-w0rd-x@payments.example/v1/charge?key=sk_live_abc123",
        "HTTPSConnectionPool(host='payments.example', port=443): Max retries exceeded with url: /v1/charge?key=sk_live_abc123",
        "auth failed for shop:pa55-w0rd-x",
        "SHORT is abcd, DEBUG is 1, 3 workers",
    ], ENV)
    assert lines == [
        "cannot reach ********",
        "HTTPSConnectionPool(host='********', port=443): Max retries exceeded with url: /v1/charge?key=********",
        "auth failed for shop:********",
        # Values under 4 characters would mask every "1" printed; parts under 8, common words.
        "SHORT is ********, DEBUG is 1, 3 workers",
    ]


def test_the_whole_value_goes_before_its_parts():
    assert app_env.secrets({"A": "abcdefgh/ijklmnop"}) == ["abcdefgh/ijklmnop", "abcdefgh", "ijklmnop"]
