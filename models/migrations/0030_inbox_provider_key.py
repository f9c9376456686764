"""The inbox is unique on (provider, event id): two providers may reuse one event id.

Every stored event keeps its row: rows unique on event id alone are unique on the pair.
Written as SQL because Tortoise's SQLite table remake would drop the table's indexes;
SQLite cannot drop a column's UNIQUE, so there the table is copied by hand.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

POSTGRES = """
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_provider_event_id_key
    UNIQUE (provider, event_id);
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_event_id_key;
"""
SQLITE = """
CREATE TABLE "new__webhook_events" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "provider" VARCHAR(20) NOT NULL,
    "event_id" VARCHAR(255) NOT NULL,
    "type" VARCHAR(100) NOT NULL,
    "payload" TEXT NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "attempts" INT NOT NULL,
    "error" TEXT,
    "provider_created_at" TIMESTAMP,
    "received_at" TIMESTAMP NOT NULL,
    "processed_at" TIMESTAMP,
    CONSTRAINT "uid_webhook_eve_provide_event_id" UNIQUE ("provider", "event_id")
);
INSERT INTO "new__webhook_events" SELECT
    "id", "provider", "event_id", "type", "payload", "status", "attempts", "error",
    "provider_created_at", "received_at", "processed_at"
FROM "webhook_events";
DROP TABLE "webhook_events";
ALTER TABLE "new__webhook_events" RENAME TO "webhook_events";
CREATE INDEX "idx_webhook_eve_receive_e059dd" ON "webhook_events" ("received_at");
CREATE INDEX "idx_webhook_eve_status_23a922" ON "webhook_events" ("status", "received_at");
"""


async def key_inbox_by_provider(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    sqlite = client.capabilities.dialect == "sqlite"
    await client.execute_script(SQLITE if sqlite else POSTGRES)


class Migration(migrations.Migration):
    dependencies = [("models", "0022_outbox_event_states")]

    operations = [ops.RunPython(key_inbox_by_provider)]
