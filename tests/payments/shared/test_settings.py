"""Settings come from the environment once; a bad value stops start-up with one clear line."""

import subprocess

import pytest

from payments.shared.errors import SettingsError
from payments.shared.settings import GatewayName, load_settings
from tests.processes import PAYMENTS


def test_bad_database_url_names_the_variable():
    """A malformed DATABASE_URL raises SettingsError naming DATABASE_URL."""
    with pytest.raises(SettingsError, match=r"^DATABASE_URL"):
        load_settings(database_url="mysql://x", jwt_secret="s", stripe_webhook_secret="whsec_x")


def test_unknown_gateway_names_the_variable():
    """GATEWAY must be stripe or simulated."""
    with pytest.raises(SettingsError, match=r"^GATEWAY"):
        load_settings(database_url="sqlite://x", gateway="paypal")


def test_gateway_defaults_to_stripe_only_with_a_key():
    """Without STRIPE_API_KEY the simulated gateway is used; with one, Stripe."""
    common = {"database_url": "sqlite://x", "jwt_secret": "s", "stripe_webhook_secret": "whsec_x"}
    assert load_settings(**common).gateway_name is GatewayName.SIMULATED
    assert load_settings(**common, stripe_api_key="sk_test_1").gateway_name is GatewayName.STRIPE


def test_webhook_secrets_split_for_rotation():
    """STRIPE_WEBHOOK_SECRET holds several comma-separated secrets."""
    settings = load_settings(
        database_url="sqlite://x", jwt_secret="s", stripe_webhook_secret="whsec_a, whsec_b"
    )
    assert settings.webhook_secrets == ["whsec_a", "whsec_b"]


def test_secrets_never_print():
    """A secret's value does not appear in the settings' repr."""
    settings = load_settings(
        database_url="sqlite://x", jwt_secret="super-secret-value", stripe_webhook_secret="whsec_zz"
    )
    assert "super-secret-value" not in repr(settings)
    assert "whsec_zz" not in str(settings)


def test_cli_reports_configuration_error_in_one_line():
    """`payments migrate` with a bad DATABASE_URL exits 2 with one line and no traceback."""
    result = subprocess.run(
        [PAYMENTS, "migrate"],
        env={"DATABASE_URL": "nonsense://", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "payments: configuration error: DATABASE_URL: Value error, must start with postgres:// or sqlite://"
    ]


@pytest.mark.parametrize(
    "limits", [{"XYZ": 50}, {"USD": 0}], ids=["unknown-currency", "zero-amount"]
)
def test_bad_per_currency_amounts_name_the_variable(limits):
    """Per-currency bounds must name ISO 4217 currencies and be positive."""
    with pytest.raises(SettingsError, match=r"^CHARGE_AMOUNT_MAXIMUMS"):
        load_settings(database_url="sqlite://x", charge_amount_maximums=limits)


def test_per_currency_maximum_overrides_the_global_one():
    """CHARGE_AMOUNT_MAXIMUMS={"jpy": 1000} caps yen charges; other currencies keep the default."""
    from payments.charges.rules import ChargeInput, validate_charge
    from payments.runtime import amount_limits
    from payments.shared.errors import PaymentErrors

    settings = load_settings(dev=True, charge_amount_maximums={"jpy": 1000})
    limits = amount_limits(settings)

    def charge(amount: int, currency: str) -> ChargeInput:
        return ChargeInput("o", amount, currency, "pm_card_visa", "cus_1")

    assert validate_charge(charge(1001, "USD"), limits).amount == 1001
    with pytest.raises(PaymentErrors) as refused:
        validate_charge(charge(1001, "JPY"), limits)
    assert [(e.code, e.field) for e in refused.value.errors] == [("INVALID_AMOUNT", "amount")]


def test_paypal_credentials_need_a_webhook_id_and_read_the_certificate_hosts():
    """With PayPal credentials PAYPAL_WEBHOOK_ID is required; without, the simulated PayPal.

    PAYPAL_CERT_HOSTS is comma-separated `host` or `host:port` entries, case-insensitive.
    """
    common = {"database_url": "sqlite://x", "jwt_secret": "s", "stripe_webhook_secret": "whsec_x"}
    paypal = {"paypal_client_id": "AZ-client", "paypal_client_secret": "secret"}
    assert load_settings(**common).paypal_credentials is None
    with pytest.raises(SettingsError, match=r"^PAYPAL_WEBHOOK_ID"):
        load_settings(**common, **paypal)
    configured = load_settings(
        **common,
        **paypal,
        paypal_webhook_id="WH-1",
        paypal_cert_hosts=" Certs.Example:8443, ,x",
        redis_url="redis://127.0.0.1:6379",
    )
    assert configured.paypal_credentials == ("AZ-client", "secret")
    assert configured.paypal_certificate_hosts == frozenset({"certs.example:8443", "x"})
    assert configured.paypal_environment == "sandbox"
    with pytest.raises(SettingsError, match=r"^PAYPAL_ENVIRONMENT"):
        load_settings(**common, paypal_environment="production")


def test_paypal_trust_anchors_must_be_a_file_of_pem_certificates(tmp_path):
    """PAYPAL_CERT_CA_FILE naming no file, or a file without certificates, names the variable."""
    common = {"database_url": "sqlite://x", "jwt_secret": "s", "stripe_webhook_secret": "whsec_x"}
    not_pem = tmp_path / "anchors.txt"
    not_pem.write_text("hello")
    for path in (tmp_path / "missing.pem", not_pem):
        with pytest.raises(SettingsError, match=r"^PAYPAL_CERT_CA_FILE"):
            load_settings(**common, paypal_cert_ca_file=str(path))
