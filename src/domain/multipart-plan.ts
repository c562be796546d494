/**
 * How a file is cut into parts for S3's multipart upload: every part the same size but the last,
 * within S3's rules (5 MiB to 5 GiB a part, at most 10,000 parts). Pure, so the API, the checks at
 * completion and the tests share one rule.
 */
import { S3_MULTIPART } from '../schemas/upload.ts';

const MiB = 1024 ** 2;

export interface PartLayout {
  sizeBytes: number;
  partSizeBytes: number;
  partCount: number;
}

/** The preferred part size, or a larger one (whole MiB) when the file would need over 10,000 parts. */
export function planParts(sizeBytes: number, preferredPartBytes: number): PartLayout {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1) throw new RangeError(`A multipart upload needs at least one byte, not ${sizeBytes}`);
  if (sizeBytes > S3_MULTIPART.maxObjectBytes) throw new RangeError(`${sizeBytes} bytes is over S3's largest object (${S3_MULTIPART.maxObjectBytes})`);
  const smallestFitting = Math.ceil(sizeBytes / S3_MULTIPART.maxParts / MiB) * MiB;
  const partSizeBytes = Math.min(S3_MULTIPART.maxPartBytes, Math.max(S3_MULTIPART.minPartBytes, preferredPartBytes, smallestFitting));
  return { sizeBytes, partSizeBytes, partCount: Math.ceil(sizeBytes / partSizeBytes) };
}

/** The exact length of part `partNumber` (1-based) of a layout. */
export function partSize(layout: PartLayout, partNumber: number): number {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > layout.partCount) {
    throw new RangeError(`Part ${partNumber} is not a part of this upload (1 to ${layout.partCount})`);
  }
  return partNumber < layout.partCount ? layout.partSizeBytes : layout.sizeBytes - (layout.partCount - 1) * layout.partSizeBytes;
}

/** ETags compared as S3 compares them: without their quotes. */
export const sameEtag = (a: string, b: string) => a.replace(/"/g, '') === b.replace(/"/g, '');

/** "3, 5 and 9", or "3, 5, 9 … and 41 more" for long lists. */
export function listNumbers(numbers: readonly number[], shown = 10): string {
  if (numbers.length <= 1) return numbers.join('');
  if (numbers.length > shown) return `${numbers.slice(0, shown).join(', ')} … and ${numbers.length - shown} more`;
  return `${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`;
}
