/**
 * Fast start's own rule for publishing a rendition that is still being encoded
 * (src/adapters/ffmpeg-hls/fast-start.ts). The fast start itself, with ffmpeg against the
 * stand-ins, is test/lambda/fast-start.test.ts and test/e2e/fast-start.test.ts.
 */
import t from 'tap';
import { safeToWatchWhileEncoding } from '../../../../src/adapters/ffmpeg-hls/fast-start.ts';

t.test('a rendition still being encoded is published only when a viewer starting now would never catch up', async (t) => {
  t.notOk(safeToWatchWhileEncoding({ encoded: 0, elapsed: 1, duration: 60 }), 'nothing encoded yet');
  t.ok(safeToWatchWhileEncoding({ encoded: 8, elapsed: 2, duration: 600 }), 'four times real time: at once');
  // At 0.9x (0.81 with the margin) a 60 s video needs 60 - 0.81 * 56 = 14.6 s done first.
  t.notOk(safeToWatchWhileEncoding({ encoded: 9, elapsed: 10, duration: 60 }));
  t.ok(safeToWatchWhileEncoding({ encoded: 15, elapsed: 16.6, duration: 60 }));
  t.notOk(safeToWatchWhileEncoding({ encoded: 30, elapsed: 60, duration: 600 }), 'half real time: not before most of it is done');
});
