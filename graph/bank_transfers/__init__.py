"""fundBankTransfer: the test bank that plays a customer's bank transfer."""
