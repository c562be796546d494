import { Type, type Static } from '@sinclair/typebox';

/** RFC 9457 problem details, the body of every error response. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'Stable identifier of the kind of problem' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem' },
);
export type Problem = Static<typeof Problem>;

export const ProblemRef = Type.Ref(Problem);

/** An error response in route schemas: documented as application/problem+json. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemRef } },
});

/**
 * What API Gateway itself answers when it refuses a request before the function runs (its
 * throttling, its own size limits): `{"message": "..."}` as application/json.
 */
const GatewayMessage = Type.Object({ message: Type.String() }, { description: "API Gateway's own answer (AWS only)" });

/**
 * A 429, which every operation may answer: from the app's per-client rate limit
 * (src/app/rate-limit.ts, the local stack) as problem+json with the seconds to wait in Retry-After,
 * or, in AWS, from API Gateway's throttling of the whole API as its own JSON message.
 */
export const tooManyRequestsResponse = {
  description:
    'Too many requests. From the rate limit of each client: problem+json, retry after Retry-After seconds. ' +
    'Behind API Gateway (AWS), its throttling of the whole API answers instead with its own {message}, without Retry-After: retry with backoff.',
  headers: {
    'Retry-After': { type: 'integer', minimum: 0, description: "Seconds until this client may send requests again (the app's rate limit only)" },
  },
  content: { 'application/problem+json': { schema: ProblemRef }, 'application/json': { schema: GatewayMessage } },
};

/**
 * What any operation may answer whatever its own inputs, declared on every one: a URI or headers
 * over what the server reads (Node's HTTP parser: 16 KB for the request line and the headers
 * together, src/app/error-handler.ts; API Gateway's HTTP APIs read about 10 KB), and the 429.
 */
export const anyRequestResponses = {
  414: problemResponse('URI too long: more than the server reads'),
  429: tooManyRequestsResponse,
  431: problemResponse('Request headers too large: more than the server reads with the request line'),
};
