/**
 * What the signed-in operations of every resource declare alike, worded once for the whole API:
 * the bearer token they need, the 401 without it, and the 404 of a video id that names nothing
 * the caller may see.
 */
import { problemResponse } from '../src/schemas/problem.ts';

export const security = [{ bearerAuth: [] }];
export const unauthenticated = problemResponse('Missing, malformed, expired or foreign bearer token');
export const notFound = problemResponse('No such video, or one you may not see');
