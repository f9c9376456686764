"""Typed domain errors; the edges (GraphQL, webhook route, actors) translate them."""


class PaymentsError(Exception):
    """Base of every expected error; `code` is stable and client-facing."""

    code = "PAYMENTS_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(PaymentsError):
    code = "VALIDATION_ERROR"


class InvalidAmount(ValidationFailed):
    code = "INVALID_AMOUNT"


class InvalidCurrency(ValidationFailed):
    code = "INVALID_CURRENCY"


class IdempotencyKeyReused(PaymentsError):
    code = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        super().__init__(
            "This idempotency key was already used with different parameters.",
            field="idempotencyKey",
        )


class IdempotencyKeyInUse(PaymentsError):
    code = "IDEMPOTENCY_KEY_IN_USE"

    def __init__(self) -> None:
        super().__init__(
            "A request with this idempotency key is still in progress; retry shortly.",
            field="idempotencyKey",
        )


class NotFound(PaymentsError):
    code = "NOT_FOUND"

    def __init__(self, what: str, field: str | None = None) -> None:
        super().__init__(f"{what} not found.", field=field)


class PaymentNotRefundable(PaymentsError):
    code = "PAYMENT_NOT_REFUNDABLE"


class PaymentNotCapturable(PaymentsError):
    code = "PAYMENT_NOT_CAPTURABLE"


class PaymentNotCancelable(PaymentsError):
    code = "PAYMENT_NOT_CANCELABLE"


class PaymentNotConfirmable(PaymentsError):
    code = "PAYMENT_NOT_CONFIRMABLE"


class DisputeNotOpen(PaymentsError):
    """The dispute is closed (won, lost, or an inquiry that ended): nothing can change it."""

    code = "DISPUTE_NOT_OPEN"

    def __init__(self) -> None:
        super().__init__("The dispute is closed and can no longer be answered.", field="disputeId")


class PaymentNotFundable(PaymentsError):
    """A bank transfer that takes no more money (canceled, paid, or not a bank transfer)."""

    code = "PAYMENT_NOT_FUNDABLE"


class PaymentMethodTypeUnsupported(PaymentsError):
    """The rail cannot take this payment (its method type, currency or capture method)."""

    code = "PAYMENT_METHOD_TYPE_UNSUPPORTED"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="paymentMethodType")


class RefundExceedsAvailable(PaymentsError):
    code = "REFUND_EXCEEDS_AVAILABLE"

    def __init__(self, requested: int, available: int) -> None:
        super().__init__(
            f"Refund of {requested} exceeds the refundable amount of {available}.",
            field="amount",
        )
        self.requested = requested
        self.available = available


class CustomerExists(PaymentsError):
    code = "CUSTOMER_EXISTS"

    def __init__(self, field: str = "email") -> None:
        super().__init__("A customer with this id or email already exists.", field=field)


class CustomerNotFound(PaymentsError):
    code = "CUSTOMER_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("Customer not found.", field="customerId")


class PaymentMethodNotFound(PaymentsError):
    code = "PAYMENT_METHOD_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("Payment method not found.", field="paymentMethodId")


class NoDefaultPaymentMethod(PaymentsError):
    code = "NO_DEFAULT_PAYMENT_METHOD"

    def __init__(self) -> None:
        super().__init__(
            "The customer has no default payment method; attach one or pass paymentMethodId.",
            field="paymentMethodId",
        )


class GatewayUnavailable(PaymentsError):
    """The gateway could not be reached or failed; the outcome is unknown and retryable."""

    code = "GATEWAY_UNAVAILABLE"

    def __init__(self, detail: str = "The payment gateway is unavailable; retry later.") -> None:
        super().__init__(detail)


class ServiceUnavailable(PaymentsError):
    """PostgreSQL or Redis could not be reached; nothing may be assumed done, so retry."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self) -> None:
        super().__init__(
            "A service this request needs is unavailable; retry shortly with the same key."
        )


class Unauthenticated(PaymentsError):
    code = "UNAUTHENTICATED"


class Forbidden(PaymentsError):
    code = "FORBIDDEN"


class RateLimited(PaymentsError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


class SettingsError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


class ReplayedError(PaymentsError):
    """An error outcome stored on an idempotency key, returned again to a retry."""

    def __init__(self, code: str, message: str, field: str | None) -> None:
        super().__init__(message, field=field)
        self.code = code


class PaymentErrors(PaymentsError):
    """Several input errors at once (every invalid field is reported)."""

    code = "VALIDATION_ERROR"

    def __init__(self, errors: list[PaymentsError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors
