/**
 * DynamoDB answered at once, in the API's own process, for measuring the API's own cost per
 * request without the local stand-in (dynalite shares the API's event loop in the local stack)
 * or a network. Both answer GetItem by videoId and Query with the first `Limit` items, whatever
 * the key condition: enough for the get, list and playback routes.
 */
import { Readable } from 'node:stream';
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { createDynamoDbClient } from '../../../src/app/aws-clients.ts';

type AttributeValue = { S: string } | { N: string } | { BOOL: boolean } | { NULL: true } | { L: AttributeValue[] } | { M: Record<string, AttributeValue> };

/** DynamoDB's JSON for plain values (strings, numbers, booleans, lists, maps); undefined fields dropped. */
function marshallValue(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(marshallValue) };
  return { M: marshall(value as object) };
}

function marshall(item: object): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(item)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, marshallValue(value)]),
  );
}

const idOf = (item: object) => String((item as { videoId?: unknown }).videoId);

/**
 * The real SDK client (serializing, signing, middleware, parsing: what a DynamoDB call costs the
 * API in AWS too) with a request handler that answers in-process instead of sending.
 */
export function createInstantDynamoDb(items: readonly object[], config: Parameters<typeof createDynamoDbClient>[0]): Promise<DynamoDBDocumentClient> {
  // Answers are made once, so the handler costs next to nothing and the SDK's own work remains.
  const getAnswers = new Map(items.map((item) => [idOf(item), Buffer.from(JSON.stringify({ Item: marshall(item) }))]));
  const emptyGet = Buffer.from('{}');
  const queryAnswers = new Map<number, Buffer>();
  const queryAnswer = (limit: number) => {
    let answer = queryAnswers.get(limit);
    if (!answer) {
      const page = items.slice(0, limit);
      answer = Buffer.from(JSON.stringify({ Items: page.map(marshall), Count: page.length }));
      queryAnswers.set(limit, answer);
    }
    return answer;
  };
  const respond = (body: Buffer) => ({
    response: new HttpResponse({
      statusCode: 200,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(body.length) },
      body: Readable.from([body]),
    }),
  });
  const requestHandler = {
    async handle(request: HttpRequest) {
      const target = String(request.headers['x-amz-target'] ?? '');
      const input = JSON.parse(Buffer.from(request.body as Uint8Array).toString('utf8')) as {
        Key?: { videoId?: { S?: string } };
        Limit?: number;
      };
      if (target.endsWith('.GetItem')) return respond(getAnswers.get(input.Key?.videoId?.S ?? '') ?? emptyGet);
      if (target.endsWith('.Query')) return respond(queryAnswer(input.Limit ?? items.length));
      throw new Error(`the instant DynamoDB does not answer ${target}`);
    },
  };
  // The API's own client (src/app/aws-clients.ts), settings and all, with the handler swapped in.
  return createDynamoDbClient(config, {
    endpoint: 'http://instant.invalid',
    credentials: { accessKeyId: 'instant', secretAccessKey: 'instant' },
    requestHandler: requestHandler as never,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The same answers with the SDK skipped: `send` returns the items directly (frozen, shared: a
 * copy per request would cost more than the API's work, and the API never changes what it
 * reads). Behind the API this leaves only the API's own work (authentication, routing,
 * validation, the service, signing, serialization); DynamoDB's whole cost, the SDK's included,
 * is gone.
 */
export function createInstantDocumentClient(items: readonly object[]): DynamoDBDocumentClient {
  const frozen = deepFreeze(structuredClone(items));
  const byId = new Map(frozen.map((item) => [idOf(item), item]));
  const send = async (command: unknown) => {
    if (command instanceof GetCommand) {
      const item = byId.get(String(command.input.Key?.videoId));
      return item ? { Item: item } : {};
    }
    if (command instanceof QueryCommand) {
      const page = frozen.slice(0, command.input.Limit ?? frozen.length);
      return { Items: page, Count: page.length };
    }
    throw new Error(`the instant document client does not answer ${(command as object).constructor.name}`);
  };
  return { send } as unknown as DynamoDBDocumentClient;
}
