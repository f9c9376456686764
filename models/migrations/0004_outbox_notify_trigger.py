"""A committed outbox row wakes the relay by trigger, saving every transition a round trip."""

from tortoise import migrations
from tortoise.migrations import operations as ops

# The channel is payments.outbox.events.OUTBOX_CHANNEL; frozen here as migrations are history.
POSTGRES_TRIGGER = """
CREATE FUNCTION notify_outbox_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('payments_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_events_wake_relay AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox_relay();
"""


async def add_postgres_trigger(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    if client.capabilities.dialect == "postgres":
        await client.execute_script(POSTGRES_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("models", "0003_outbox_request_id")]

    operations = [ops.RunPython(add_postgres_trigger)]
