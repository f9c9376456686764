"""The settings of `payments dev`, and of the commands a developer runs beside it."""

import os

from payments.shared.settings import DEV_DATABASE_FILE, Settings, load_settings

DEV_DATABASE_URL = f"sqlite://{DEV_DATABASE_FILE}"
# A walk through the README moves money about twenty times in a minute; the production
# default (10/minute per principal) would refuse the 11th. RATE_LIMIT_CHARGE still wins.
DEV_CHARGE_BUDGET = "600/minute"


def dev_settings() -> Settings:
    """`payments dev`'s settings: the environment, then the embedded defaults and its budget."""
    settings = load_settings(dev=True)
    if "rate_limit_charge" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"rate_limit_charge": DEV_CHARGE_BUDGET})


def command_settings() -> Settings:
    """An operator command's settings (`deliveries`, `webhooks`).

    With DATABASE_URL unset, or naming the dev database, it works on what `payments dev`
    works on, with the same defaults; otherwise the environment must say everything.
    """
    database_url = os.environ.get("DATABASE_URL", "")
    return load_settings(dev=database_url in ("", DEV_DATABASE_URL))
