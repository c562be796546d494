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
 * A 429 from the rate limit (src/rate-limit.ts), which every operation may answer: problem+json
 * with the seconds to wait in Retry-After.
 */
export const tooManyRequestsResponse = {
  description: 'Too many requests from this client: retry after Retry-After seconds',
  headers: {
    'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds until this client may send requests again' },
  },
  content: { 'application/problem+json': { schema: ProblemRef } },
};

/**
 * What any operation may answer whatever its own inputs, declared on every one: a URI or headers
 * over what the server reads (Node's HTTP parser: 16 KB for the request line and the headers
 * together; src/error-handler.ts), and the rate limit's 429.
 */
export const anyRequestResponses = {
  414: problemResponse('URI too long: more than the server reads (16 KB with the headers)'),
  429: tooManyRequestsResponse,
  431: problemResponse('Request headers too large: more than the server reads (16 KB with the request line)'),
};
