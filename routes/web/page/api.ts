/**
 * The page's only way to the API: a typed client generated from openapi/openapi.json
 * (`npm run client` writes ./api/openapi.ts; a test fails when it is stale) and openapi-fetch.
 * Every request carries the signed-in user's bearer token; a 401 signs the page out.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './api/openapi.ts';
import type { Auth } from './auth.ts';

export type Video = components['schemas']['Video'];
export type VideoPage = components['schemas']['VideoPage'];
export type Playback = components['schemas']['Playback'];
export type PresignedUpload = components['schemas']['PresignedUpload'];
export type MultipartUpload = components['schemas']['MultipartUpload'];
export type PartUploadUrl = components['schemas']['PartUploadUrl'];
export type SignedParts = components['schemas']['SignedParts'];
export type UploadProgress = components['schemas']['UploadProgress'];
export type CompletedPart = components['schemas']['CompleteUploadRequest']['parts'][number];
export type Problem = components['schemas']['Problem'];

/** An API answer that was not a success, with the problem's words for people. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
  ) {
    super(problem?.detail ?? problem?.title ?? (status === 0 ? 'The service could not be reached' : `HTTP ${status}`));
  }
}

/** The API lives where the page does (same origin, same path prefix: an API Gateway stage). */
export function apiBaseUrl(): string {
  return new URL('.', location.href).href.replace(/\/$/, '');
}

export function createApi(auth: Auth, onSignedOut: () => void) {
  const client = createClient<paths>({ baseUrl: apiBaseUrl() });
  client.use({
    async onRequest({ request }) {
      const token = await auth.token();
      if (!token) {
        onSignedOut();
        throw new ApiError(401, { detail: 'You are signed out. Sign in again to continue.' });
      }
      request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) {
        auth.expire();
        onSignedOut();
      }
      return response;
    },
  });

  /** The data of a success, or an ApiError carrying the problem detail. */
  async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    let result: { data?: T; error?: unknown; response: Response };
    try {
      result = await call;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(0, { detail: 'The service could not be reached. Check your connection and try again.' });
    }
    if (!result.response.ok) throw new ApiError(result.response.status, result.error as Partial<Problem> | undefined);
    return result.data as T;
  }

  return {
    listVideos: (cursor?: string) => unwrap(client.GET('/videos', { params: { query: { status: 'all', limit: 24, ...(cursor ? { cursor } : {}) } } })),
    getVideo: (videoId: string) => unwrap(client.GET('/videos/{videoId}', { params: { path: { videoId } } })),
    getPlayback: (videoId: string) => unwrap(client.GET('/videos/{videoId}/playback', { params: { path: { videoId } } })),
    createUpload: (body: components['schemas']['CreateUploadRequest']) => unwrap(client.POST('/uploads', { body })),
    /** Pre-signed URLs for these parts of a multipart upload (new ones when the old expired). */
    signUploadParts: (videoId: string, partNumbers: number[]) =>
      unwrap(client.POST('/uploads/{videoId}/parts', { params: { path: { videoId } }, body: { parts: partNumbers.map((partNumber) => ({ partNumber })) } })),
    /** The parts storage holds so far: after a reload, upload only the others. */
    listUploadedParts: (videoId: string) => unwrap(client.GET('/uploads/{videoId}/parts', { params: { path: { videoId } } })),
    completeUpload: (videoId: string, parts: CompletedPart[]) =>
      unwrap(client.POST('/uploads/{videoId}/complete', { params: { path: { videoId } }, body: { parts } })),
    /** Cancels an unfinished upload: its parts and its video are removed. */
    abortUpload: async (videoId: string): Promise<void> => {
      await unwrap(client.DELETE('/uploads/{videoId}', { params: { path: { videoId } } }));
    },
    deleteVideo: async (videoId: string): Promise<void> => {
      await unwrap(client.DELETE('/videos/{videoId}', { params: { path: { videoId } } }));
    },
  };
}

export type Api = ReturnType<typeof createApi>;
