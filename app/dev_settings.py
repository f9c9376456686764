"""The settings of `payments dev`, and of the commands a developer runs beside it."""

import os

from payments.shared.errors import SettingsError
from payments.shared.settings import DEV_DATABASE_FILE, Settings, load_settings

DEV_DATABASE_URL = f"sqlite://{DEV_DATABASE_FILE}"
# A walk through the README moves money about twenty times in a minute; the production
# default (10/minute per principal) would refuse the 11th. RATE_LIMIT_CHARGE still wins.
DEV_CHARGE_BUDGET = "600/minute"
NEEDED_BESIDE_A_DATABASE = (
    "a DATABASE_URL other than the dev database needs JWT_SECRET (or JWT_JWKS_URL) and "
    "STRIPE_WEBHOOK_SECRET as well (OUTBOUND_WEBHOOK_SECRET with a consumer URL); "
    "leave DATABASE_URL unset to use `payments dev`'s database and defaults"
)


def dev_settings() -> Settings:
    """`payments dev`'s settings: the environment, then the embedded defaults and its budget."""
    settings = load_settings(dev=True)
    if "rate_limit_charge" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"rate_limit_charge": DEV_CHARGE_BUDGET})


def command_settings() -> Settings:
    """An operator command's settings (`deliveries`, `webhooks`).

    With DATABASE_URL unset, or naming the dev database, it works on what `payments dev`
    works on, with the same defaults; otherwise the environment must say everything, and
    a missing value is reported with all that is needed, not one variable per attempt.
    """
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url in ("", DEV_DATABASE_URL):
        return load_settings(dev=True)
    try:
        return load_settings()
    except SettingsError as error:
        raise SettingsError(f"{error}; {NEEDED_BESIDE_A_DATABASE}") from None
