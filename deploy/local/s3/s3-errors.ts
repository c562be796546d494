/**
 * S3's error responses, as the S3 stand-in's verifying front answers them: an HTTP status, an
 * `<Error>` document with S3's `Code` and `Message` (and the extra elements S3 adds for that
 * code), `x-amz-request-id`. Clients (the SDK included) map `Code` to the error's name.
 */

export class S3ErrorResponse extends Error {
  override name = 'S3ErrorResponse';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra elements of the `<Error>` document, in order (e.g. `HeadersNotSigned`). */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const escapeXml = (text: string) => text.replace(/[&<>]/g, (char) => XML_ESCAPES[char]!);

/** The body S3 sends with an error (HEAD responses carry none). */
export function s3ErrorXml(error: S3ErrorResponse, requestId: string): string {
  const elements: Array<[string, string]> = [['Code', error.code], ['Message', error.message], ...Object.entries(error.details), ['RequestId', requestId]];
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + elements.map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`).join('') + '</Error>';
}

// The errors S3 answers for authentication, with its codes, statuses and messages.

export const accessDenied = (message = 'Access Denied', details?: Record<string, string>) => new S3ErrorResponse(403, 'AccessDenied', message, details);

export const invalidAccessKeyId = (accessKeyId: string) =>
  new S3ErrorResponse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
    AWSAccessKeyId: accessKeyId,
  });

export const authorizationHeaderMalformed = (reason: string, details?: Record<string, string>) =>
  new S3ErrorResponse(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${reason}`, details);

export const authorizationQueryParametersError = (message: string, details?: Record<string, string>) =>
  new S3ErrorResponse(400, 'AuthorizationQueryParametersError', message, details);

export const invalidArgument = (message: string, details?: Record<string, string>) => new S3ErrorResponse(400, 'InvalidArgument', message, details);

export const invalidRequest = (message: string) => new S3ErrorResponse(400, 'InvalidRequest', message);

export const notImplemented = (message: string) => new S3ErrorResponse(501, 'NotImplemented', message);

export const incompleteBody = () =>
  new S3ErrorResponse(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');

export const missingContentLength = () => new S3ErrorResponse(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');

export const contentSha256Mismatch = (clientComputed: string, serverComputed: string) =>
  new S3ErrorResponse(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
    ClientComputedContentSHA256: clientComputed,
    S3ComputedContentSHA256: serverComputed,
  });

export const preconditionFailed = (condition: string) =>
  new S3ErrorResponse(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });

export const internalError = () => new S3ErrorResponse(500, 'InternalError', 'We encountered an internal error. Please try again.');

// Multipart upload (s3-multipart.ts), with S3's messages and extra elements.

export const noSuchUpload = (uploadId: string) =>
  new S3ErrorResponse(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    {
      UploadId: uploadId,
    },
  );

export const noSuchBucket = (bucket: string) => new S3ErrorResponse(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

export const invalidPart = (uploadId: string, partNumber: number, etag: string) =>
  new S3ErrorResponse(
    400,
    'InvalidPart',
    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    { UploadId: uploadId, PartNumber: String(partNumber), ETag: etag },
  );

export const invalidPartOrder = (uploadId: string, partNumber: number) =>
  new S3ErrorResponse(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', {
    UploadId: uploadId,
    PartNumber: String(partNumber),
  });

export const entityTooSmall = (proposedSize: number, minSizeAllowed: number, partNumber: number, etag: string) =>
  new S3ErrorResponse(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
    ProposedSize: String(proposedSize),
    MinSizeAllowed: String(minSizeAllowed),
    PartNumber: String(partNumber),
    ETag: etag,
  });

export const malformedXml = () =>
  new S3ErrorResponse(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');

export const invalidDigest = (contentMd5: string) =>
  new S3ErrorResponse(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': contentMd5 });

export const badDigest = (expectedDigest: string, calculatedDigest: string) =>
  new S3ErrorResponse(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', {
    ExpectedDigest: expectedDigest,
    CalculatedDigest: calculatedDigest,
  });

export const badChecksum = (algorithm: string) =>
  new S3ErrorResponse(400, 'BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
