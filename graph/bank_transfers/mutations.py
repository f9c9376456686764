"""fundBankTransfer: parse input, call the bank-transfer service, shape the payload."""

import strawberry

from graph.context import Info
from graph.payload import PaymentPayload, payment_answer
from payments.bank_transfers import service as bank_transfers
from payments.bank_transfers.service import FundingInput


@strawberry.input
class FundBankTransferInput:
    payment_id: strawberry.ID
    amount: int


@strawberry.type
class BankTransferMutations:
    @strawberry.mutation(
        description="Play the customer's bank: send money to a waiting bank transfer "
        "(payments:admin, test mode only)."
    )
    async def fund_bank_transfer(self, info: Info, input: FundBankTransferInput) -> PaymentPayload:
        command = FundingInput(payment_id=str(input.payment_id), amount=input.amount)
        return await payment_answer(
            info,
            PaymentPayload,
            lambda principal, services: bank_transfers.fund(principal, command, services),
        )
