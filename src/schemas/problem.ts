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
