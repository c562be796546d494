/**
 * The bytes go straight from the browser to storage with the pre-signed PUT the API handed out;
 * XMLHttpRequest rather than fetch because only it reports upload progress.
 */
import type { PresignedUpload } from './api.ts';

export type UploadFailure = 'network' | 'storage' | 'cancelled' | 'expired';

export class UploadError extends Error {
  override name = 'UploadError';
  constructor(
    readonly reason: UploadFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface RunningUpload {
  done: Promise<void>;
  cancel(): void;
}

/** Headers a page may not set (the browser sets them itself, e.g. Content-Length from the file). */
const BROWSER_MANAGED = new Set(['content-length', 'host', 'connection', 'expect']);

/** S3 answers errors in XML: `<Error><Code>…</Code><Message>…</Message></Error>`. */
function storageMessage(body: string): { code?: string; message?: string } {
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1],
  };
}

export function putFile(upload: PresignedUpload, file: Blob, onProgress: (loaded: number, total: number) => void): RunningUpload {
  const xhr = new XMLHttpRequest();
  const done = new Promise<void>((resolve, reject) => {
    xhr.open(upload.method, upload.url);
    for (const [name, value] of Object.entries(upload.headers)) {
      if (!BROWSER_MANAGED.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        return resolve();
      }
      const { code, message } = storageMessage(xhr.responseText);
      if (code === 'AccessDenied' && /expired/i.test(message ?? '')) {
        return reject(new UploadError('expired', 'The upload link expired before the file arrived. Please upload it again.'));
      }
      reject(new UploadError('storage', `Storage refused the file (HTTP ${xhr.status}${message ? `: ${message}` : ''}). Please try again.`));
    });
    xhr.addEventListener('error', () =>
      reject(new UploadError('network', 'The upload was interrupted: the network connection to storage failed. Check your connection and try again.')),
    );
    xhr.addEventListener('timeout', () => reject(new UploadError('network', 'The upload timed out. Check your connection and try again.')));
    xhr.addEventListener('abort', () => reject(new UploadError('cancelled', 'Upload cancelled.')));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}
