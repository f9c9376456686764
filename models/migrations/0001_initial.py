from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.enums import DeliveryStatus, EventSource, InboxStatus, Operation, PaymentStatus, RefundReason, RefundStatus
from models.ids import new_event_id, new_payment_id, new_refund_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('principal', fields.CharField(max_length=255)),
                ('operation', fields.CharEnumField(description='CHARGE: charge\nREFUND: refund', enum_type=Operation, max_length=20)),
                ('key', fields.CharField(max_length=255)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('resource_id', fields.CharField(null=True, max_length=40)),
                ('response', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_keys', 'app': 'models', 'unique_together': (('principal', 'operation', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_event_id, unique=True, db_index=True, max_length=40)),
                ('payment_id', fields.CharField(max_length=40)),
                ('version', fields.IntField()),
                ('type', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('relayed_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_events', 'app': 'models', 'unique_together': (('payment_id', 'version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('models.OutboxEvent', source_field='event_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('consumer', fields.CharField(max_length=64)),
                ('payment_id', fields.CharField(max_length=40)),
                ('version', fields.IntField()),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: PENDING\nENQUEUED: ENQUEUED\nDELIVERED: DELIVERED\nDEAD: DEAD', enum_type=DeliveryStatus, max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('enqueued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dead_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbox_deliveries', 'app': 'models', 'unique_together': (('event', 'consumer'),), 'indexes': [Index(fields=['consumer', 'payment_id', 'version']), Index(fields=['status', 'enqueued_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_payment_id, unique=True, db_index=True, max_length=40)),
                ('customer_id', fields.CharField(db_index=True, max_length=255)),
                ('order_id', fields.CharField(db_index=True, max_length=255)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharEnumField(db_index=True, description='PENDING: PENDING\nPROCESSING: PROCESSING\nREQUIRES_ACTION: REQUIRES_ACTION\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELED: CANCELED\nPARTIALLY_REFUNDED: PARTIALLY_REFUNDED\nREFUNDED: REFUNDED', enum_type=PaymentStatus, max_length=20)),
                ('amount_refunded', fields.BigIntField(default=0)),
                ('amount_refund_pending', fields.BigIntField(default=0)),
                ('payment_method_id', fields.CharField(max_length=255)),
                ('description', fields.TextField(null=True, unique=False)),
                ('metadata', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('failure_code', fields.CharField(null=True, max_length=100)),
                ('failure_message', fields.TextField(null=True, unique=False)),
                ('client_secret', fields.CharField(null=True, max_length=255)),
                ('gateway', fields.CharField(max_length=20)),
                ('provider_payment_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('card_brand', fields.CharField(null=True, max_length=30)),
                ('card_last4', fields.CharField(null=True, max_length=4)),
                ('disputed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'payments', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentStatusHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='history', on_delete=OnDelete.CASCADE)),
                ('from_status', fields.CharEnumField(null=True, description='PENDING: PENDING\nPROCESSING: PROCESSING\nREQUIRES_ACTION: REQUIRES_ACTION\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELED: CANCELED\nPARTIALLY_REFUNDED: PARTIALLY_REFUNDED\nREFUNDED: REFUNDED', enum_type=PaymentStatus, max_length=20)),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nPROCESSING: PROCESSING\nREQUIRES_ACTION: REQUIRES_ACTION\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELED: CANCELED\nPARTIALLY_REFUNDED: PARTIALLY_REFUNDED\nREFUNDED: REFUNDED', enum_type=PaymentStatus, max_length=20)),
                ('source', fields.CharEnumField(description='API: API\nWEBHOOK: WEBHOOK\nRECONCILER: RECONCILER', enum_type=EventSource, max_length=20)),
                ('version', fields.IntField()),
                ('provider_event_id', fields.CharField(null=True, max_length=255)),
                ('applied', fields.BooleanField(default=True)),
                ('note', fields.CharField(null=True, max_length=255)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'payment_status_history', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_refund_id, unique=True, db_index=True, max_length=40)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELED: CANCELED', enum_type=RefundStatus, max_length=20)),
                ('reason', fields.CharEnumField(null=True, description='DUPLICATE: DUPLICATE\nFRAUDULENT: FRAUDULENT\nREQUESTED_BY_CUSTOMER: REQUESTED_BY_CUSTOMER', enum_type=RefundReason, max_length=30)),
                ('source', fields.CharEnumField(default=EventSource.API, description='API: API\nWEBHOOK: WEBHOOK\nRECONCILER: RECONCILER', enum_type=EventSource, max_length=20)),
                ('provider_refund_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('failure_reason', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'refunds', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(default='stripe', max_length=20)),
                ('event_id', fields.CharField(unique=True, max_length=255)),
                ('type', fields.CharField(max_length=100)),
                ('payload', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=InboxStatus.RECEIVED, description='RECEIVED: RECEIVED\nPROCESSED: PROCESSED\nIGNORED: IGNORED\nFAILED: FAILED\nPARKED: PARKED', enum_type=InboxStatus, max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('provider_created_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_events', 'app': 'models', 'indexes': [Index(fields=['status', 'received_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
