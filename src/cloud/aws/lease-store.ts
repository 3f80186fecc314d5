import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DdaError, isDdaError } from '../../domain/errors.js';
import type { LaunchIntent, LeaseRecord, LeaseStore } from '../../ports/lease.js';

/**
 * The replica lease in DynamoDB: one item per daemon identity (partition key `daemon`, a
 * string, no sort key), written only with conditions. The lease fields are swapped on their
 * `version`; launch intents live in a map attribute of the same item and are written only on
 * the condition that the writer still holds the lease, so a replica that lost it cannot
 * record or clear anything.
 *
 * IAM: dynamodb:GetItem and dynamodb:UpdateItem on the table (docs/iam-policy.md).
 */
export const LEASE_KEY = 'daemon';

const NAMES = { '#holder': 'holder', '#version': 'version', '#expires': 'expiresAt', '#duration': 'durationMs', '#intents': 'intents' };

export class DynamoLeaseStore implements LeaseStore {
  readonly kind = 'dynamodb';

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly daemonId: string,
  ) {}

  async read(signal?: AbortSignal): Promise<LeaseRecord | null> {
    const item = await this.item(signal);
    if (!item || item.version?.S === undefined) return null;
    return {
      holder: item.holder?.S ?? '',
      version: item.version.S,
      expiresAt: Number(item.expiresAt?.N ?? 0),
      durationMs: Number(item.durationMs?.N ?? 0),
    };
  }

  async swap(expected: string | null, next: LeaseRecord, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.update(
        {
          UpdateExpression: 'SET #holder = :holder, #version = :version, #expires = :expires, #duration = :duration, #intents = if_not_exists(#intents, :none)',
          ConditionExpression: expected === null ? 'attribute_not_exists(#version)' : '#version = :expected',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ':holder': { S: next.holder },
            ':version': { S: next.version },
            ':expires': { N: String(next.expiresAt) },
            ':duration': { N: String(next.durationMs) },
            ':none': { M: {} },
            ...(expected === null ? {} : { ':expected': { S: expected } }),
          },
        },
        signal,
      );
      return true;
    } catch (e) {
      if (isDdaError(e, 'LEASE_LOST')) return false;
      throw e;
    }
  }

  async putIntent(holder: string, intent: LaunchIntent, signal?: AbortSignal): Promise<void> {
    await this.update(
      {
        UpdateExpression: 'SET #intents.#key = :intent',
        ConditionExpression: '#holder = :me',
        ExpressionAttributeNames: { '#intents': 'intents', '#holder': 'holder', '#key': intent.key },
        ExpressionAttributeValues: { ':intent': { S: JSON.stringify(intent) }, ':me': { S: holder } },
      },
      signal,
    );
  }

  async clearIntent(holder: string, key: string, signal?: AbortSignal): Promise<void> {
    await this.update(
      {
        UpdateExpression: 'REMOVE #intents.#key',
        ConditionExpression: '#holder = :me',
        ExpressionAttributeNames: { '#intents': 'intents', '#holder': 'holder', '#key': key },
        ExpressionAttributeValues: { ':me': { S: holder } },
      },
      signal,
    );
  }

  async intents(signal?: AbortSignal): Promise<LaunchIntent[]> {
    const map = (await this.item(signal))?.intents?.M ?? {};
    const out: LaunchIntent[] = [];
    for (const v of Object.values(map)) {
      try {
        const i = JSON.parse(v.S ?? '') as LaunchIntent;
        if (typeof i.key === 'string' && typeof i.pool === 'string') out.push(i);
      } catch {
        // Not ours to read: an intent is written only by this module, as JSON.
      }
    }
    return out;
  }

  private async item(signal?: AbortSignal): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(), ConsistentRead: true }), { abortSignal: signal });
      return out.Item;
    } catch (e) {
      throw this.error(e, 'GetItem');
    }
  }

  private async update(input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName' | 'Key'>, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new UpdateItemCommand({ ...input, TableName: this.table, Key: this.key() }), { abortSignal: signal });
    } catch (e) {
      throw this.error(e, 'UpdateItem');
    }
  }

  private key(): Record<string, AttributeValue> {
    return { [LEASE_KEY]: { S: this.daemonId } };
  }

  private error(e: unknown, action: string): DdaError {
    const name = e instanceof Error ? e.name : 'Error';
    const details = { action, table: this.table, awsError: name };
    if (e instanceof ConditionalCheckFailedException) return new DdaError('LEASE_LOST', `${action} on ${this.table}: the lease is no longer ours`, details);
    if (name === 'ResourceNotFoundException') return new DdaError('LEASE_UNAVAILABLE', `${action}: DynamoDB table ${this.table} (DDA_AWS_LEASE_TABLE) not found in this region`, details);
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return new DdaError('LEASE_UNAVAILABLE', `${action} on ${this.table}: ${name}: ${message}`, details, { cause: e });
  }
}
