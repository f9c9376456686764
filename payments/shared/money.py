"""ISO 4217 currencies with their minor-unit exponents, and amount limits."""

from dataclasses import dataclass, field

from payments.shared.errors import InvalidAmount, InvalidCurrency

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMAL = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
    "GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
    "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO "
    "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS "
    "SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD "
    "YER ZAR ZMW ZWL"
)

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _TWO_DECIMAL.split()},
    **{code: 0 for code in _ZERO_DECIMAL.split()},
    **{code: 3 for code in _THREE_DECIMAL.split()},
}

# Stripe's minimum charge amounts for common currencies, in minor units.
DEFAULT_MINIMUMS: dict[str, int] = {
    "USD": 50,
    "EUR": 50,
    "GBP": 30,
    "CAD": 50,
    "AUD": 50,
    "CHF": 50,
    "JPY": 50,
    "SEK": 300,
    "NOK": 300,
    "DKK": 250,
    "HKD": 400,
    "SGD": 50,
    "MXN": 1000,
    "INR": 50,
}
# Stripe accepts at most eight digits in an amount.
DEFAULT_MAXIMUM = 99_999_999


@dataclass(frozen=True)
class AmountLimits:
    """Per-currency bounds on a charge amount, in minor units."""

    minimums: dict[str, int]
    maximum: int = DEFAULT_MAXIMUM
    # Overrides of `maximum` for some currencies (e.g. a lower ceiling for JPY).
    maximums: dict[str, int] = field(default_factory=dict)

    def minimum(self, currency: str) -> int:
        return self.minimums.get(currency, 1)

    def maximum_for(self, currency: str) -> int:
        return self.maximums.get(currency, self.maximum)


DEFAULT_LIMITS = AmountLimits(minimums=DEFAULT_MINIMUMS)


def normalize_currency(code: str) -> str:
    """Return the upper-case ISO 4217 code, or raise InvalidCurrency."""
    normalized = code.strip().upper()
    if normalized not in CURRENCY_EXPONENTS:
        raise InvalidCurrency(f"'{code}' is not a supported ISO 4217 currency.", field="currency")
    return normalized


def check_charge_amount(amount: int, currency: str, limits: AmountLimits = DEFAULT_LIMITS) -> None:
    """Raise InvalidAmount unless `amount` (minor units) is within the currency's bounds."""
    minimum, maximum = limits.minimum(currency), limits.maximum_for(currency)
    if amount < minimum or amount > maximum:
        raise InvalidAmount(
            f"Amount must be between {minimum} and {maximum} {currency} minor units.",
            field="amount",
        )
