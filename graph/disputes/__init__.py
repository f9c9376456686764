"""GraphQL of disputes: the Dispute type, the admin list, evidence and acceptance."""
