/**
 * Domain errors, thrown where the problem is found. Nothing here knows about HTTP: the app maps
 * each class to a status and a problem+json `type` in one place (src/app/error-handler.ts).
 */
export abstract class DomainError extends Error {
  /** Stable, machine-readable slug; becomes the problem `type`. */
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The base of one kind of domain error: its `name`, spelt out because the bundles are minified
 * without keepNames (a class's own name does not survive), and its problem `code`.
 */
function domainError<const Code extends string>(errorName: string, errorCode: Code) {
  return class extends DomainError {
    override name = errorName;
    readonly code = errorCode;
  };
}

export class InvalidInputError extends domainError('InvalidInputError', 'invalid-input') {}
export class UnauthenticatedError extends domainError('UnauthenticatedError', 'unauthenticated') {}
export class ForbiddenError extends domainError('ForbiddenError', 'forbidden') {}
export class VideoNotFoundError extends domainError('VideoNotFoundError', 'video-not-found') {
  constructor(videoId: string) {
    super(`No video ${videoId} that you can see.`);
  }
}
export class VideoNotReadyError extends domainError('VideoNotReadyError', 'video-not-ready') {}
export class UploadTooLargeError extends domainError('UploadTooLargeError', 'upload-too-large') {}
export class UnsupportedContentTypeError extends domainError('UnsupportedContentTypeError', 'unsupported-content-type') {}

/**
 * The parts of a multipart upload do not make the declared file (a part missing, stored with
 * another ETag or another length); the message names the parts, so the client knows what to send again.
 */
export class UploadIncompleteError extends domainError('UploadIncompleteError', 'upload-incomplete') {}
/** The video has no upload in progress that this request could act on (completed, abandoned, single PUT). */
export class UploadNotInProgressError extends domainError('UploadNotInProgressError', 'upload-not-in-progress') {}

/**
 * An uploaded file that cannot become a video (or audio) stream: a still image, a text file, an
 * empty or unreadable file, a picture outside what the transcoders take. Found before any job is
 * started; the video ends `failed` with `reason` as its error code and the message as its text.
 */
export class SourceRejectedError extends domainError('SourceRejectedError', 'source-rejected') {
  constructor(
    /** Stable slug of the kind of problem, e.g. `still-image`; the video's `error.code`. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The transcoder refused a job for good (MediaConvert's BadRequest, Forbidden, NotFound or
 * Conflict; the local worker's 4xx): retrying the same request cannot help, so the video fails
 * with the transcoder's own reason instead of waiting for retries that end in a dead-letter queue.
 */
export class JobRefusedError extends domainError('JobRefusedError', 'transcoder-refused') {}

/** A client sent more requests than the rate limit allows (src/app/rate-limit.ts); 429 with Retry-After. */
export class TooManyRequestsError extends domainError('TooManyRequestsError', 'too-many-requests') {}
