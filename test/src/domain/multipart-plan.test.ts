import t from 'tap';
import fc from 'fast-check';
import { listNumbers, partSize, planParts, sameEtag } from '../../../src/domain/multipart-plan.ts';
import { S3_MULTIPART } from '../../../src/schemas/upload.ts';

const MiB = 1024 ** 2;

t.test('the preferred part size, until 10,000 parts would not hold the file', async (t) => {
  t.same(planParts(300 * MiB, 16 * MiB), { sizeBytes: 300 * MiB, partSizeBytes: 16 * MiB, partCount: 19 });
  t.same(planParts(6 * 1024 ** 3, 16 * MiB), { sizeBytes: 6 * 1024 ** 3, partSizeBytes: 16 * MiB, partCount: 384 }, 'the 6 GiB file one PUT could not take');
  const huge = planParts(S3_MULTIPART.maxObjectBytes, 16 * MiB);
  t.ok(huge.partCount <= S3_MULTIPART.maxParts, `5 TiB in ${huge.partCount} parts of ${huge.partSizeBytes / MiB} MiB`);
  t.same(planParts(1, 16 * MiB), { sizeBytes: 1, partSizeBytes: 16 * MiB, partCount: 1 }, 'one byte is one (last) part');
  t.same(planParts(100 * MiB, 1 * MiB).partSizeBytes, S3_MULTIPART.minPartBytes, "never under S3's 5 MiB");
  t.throws(() => planParts(0, 16 * MiB), RangeError);
  t.throws(() => planParts(S3_MULTIPART.maxObjectBytes + 1, 16 * MiB), RangeError);
});

t.test("any size: parts within S3's rules that add up to the file exactly", async () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: S3_MULTIPART.maxObjectBytes }),
      fc.integer({ min: S3_MULTIPART.minPartBytes, max: S3_MULTIPART.maxPartBytes }),
      (sizeBytes, preferred) => {
        const layout = planParts(sizeBytes, preferred);
        if (layout.partCount < 1 || layout.partCount > S3_MULTIPART.maxParts) return false;
        if (layout.partSizeBytes < S3_MULTIPART.minPartBytes || layout.partSizeBytes > S3_MULTIPART.maxPartBytes) return false;
        const last = partSize(layout, layout.partCount);
        // Every part but the last is partSizeBytes, so the sum is (count - 1) parts plus the last.
        return last >= 1 && last <= layout.partSizeBytes && (layout.partCount - 1) * layout.partSizeBytes + last === sizeBytes;
      },
    ),
    { numRuns: 2000 },
  );
});

t.test('a part number outside the upload has no size', async (t) => {
  const layout = planParts(20 * MiB, 8 * MiB);
  t.same(
    [1, 2, 3].map((n) => partSize(layout, n)),
    [8 * MiB, 8 * MiB, 4 * MiB],
  );
  t.throws(() => partSize(layout, 0), RangeError);
  t.throws(() => partSize(layout, 4), RangeError);
  t.throws(() => partSize(layout, 1.5), RangeError);
});

t.test('ETags compare without their quotes; part lists read as words', async (t) => {
  t.ok(sameEtag('"abc"', 'abc'));
  t.notOk(sameEtag('"abc"', '"abd"'));
  t.equal(listNumbers([3]), '3');
  t.equal(listNumbers([3, 5, 9]), '3, 5 and 9');
  t.equal(
    listNumbers(
      Array.from({ length: 14 }, (_, i) => i + 1),
      10,
    ),
    '1, 2, 3, 4, 5, 6, 7, 8, 9, 10 … and 4 more',
  );
});
