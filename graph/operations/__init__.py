"""GraphQL for operators: webhookEvents, deliveries, replayWebhookEvent, redriveDelivery."""
