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

export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError';
  readonly code = 'invalid-input';
}
export class UnauthenticatedError extends DomainError {
  override name = 'UnauthenticatedError';
  readonly code = 'unauthenticated';
}
export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
  readonly code = 'forbidden';
}
export class VideoNotFoundError extends DomainError {
  override name = 'VideoNotFoundError';
  readonly code = 'video-not-found';
  constructor(videoId: string) {
    super(`No video ${videoId} that you can see.`);
  }
}
export class VideoNotReadyError extends DomainError {
  override name = 'VideoNotReadyError';
  readonly code = 'video-not-ready';
}
export class UploadTooLargeError extends DomainError {
  override name = 'UploadTooLargeError';
  readonly code = 'upload-too-large';
}
export class UnsupportedContentTypeError extends DomainError {
  override name = 'UnsupportedContentTypeError';
  readonly code = 'unsupported-content-type';
}

/**
 * The parts of a multipart upload do not make the declared file (a part missing, stored with
 * another ETag or another length); the message names the parts, so the client knows what to send again.
 */
export class UploadIncompleteError extends DomainError {
  override name = 'UploadIncompleteError';
  readonly code = 'upload-incomplete';
}
/** The video has no upload in progress that this request could act on (completed, abandoned, single PUT). */
export class UploadNotInProgressError extends DomainError {
  override name = 'UploadNotInProgressError';
  readonly code = 'upload-not-in-progress';
}

/**
 * An uploaded file that cannot become a video (or audio) stream: a still image, a text file, an
 * empty or unreadable file, a picture outside what the transcoders take. Found before any job is
 * started; the video ends `failed` with `reason` as its error code and the message as its text.
 */
export class SourceRejectedError extends DomainError {
  override name = 'SourceRejectedError';
  readonly code = 'source-rejected';
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
export class JobRefusedError extends DomainError {
  override name = 'JobRefusedError';
  readonly code = 'transcoder-refused';
}

/** A client sent more requests than the rate limit allows (src/app/rate-limit.ts); 429 with Retry-After. */
export class TooManyRequestsError extends DomainError {
  override name = 'TooManyRequestsError';
  readonly code = 'too-many-requests';
}
