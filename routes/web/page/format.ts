/** Numbers as people read them. Plain functions (no DOM), tested in Node. */

/** 1234567 → "1.2 MB" (decimal units, as operating systems show file sizes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 999.95 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** 75.4 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** 2_928_000 → "2.9 Mbit/s". */
export function formatBitrate(bitsPerSecond: number): string {
  return bitsPerSecond >= 1_000_000 ? `${(bitsPerSecond / 1_000_000).toFixed(1)} Mbit/s` : `${Math.round(bitsPerSecond / 1000)} kbit/s`;
}

/** "12.3 MB of 45.6 MB (27%)". */
export function formatProgress(loaded: number, total: number): string {
  const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0;
  return `${formatBytes(loaded)} of ${formatBytes(total)} (${percent}%)`;
}

/** A title from a file name: "My holiday.final.MP4" → "My holiday.final". */
export function titleFromFileName(name: string): string {
  const dot = name.lastIndexOf('.');
  const stem = (dot > 0 ? name.slice(0, dot) : name).trim();
  return (stem || name || 'Untitled').slice(0, 200);
}

const MEDIA_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  ts: 'video/mp2t',
  '3gp': 'video/3gpp',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
};

/**
 * The content type to declare: the browser's, or from the extension when the browser has none
 * (some systems know no type for .mkv). Anything else is sent as it is, and the API says 415.
 */
export function contentTypeOf(file: { name: string; type: string }): string {
  if (file.type) return file.type;
  const extension = file.name.slice(file.name.lastIndexOf('.') + 1).toLowerCase();
  return MEDIA_TYPES[extension] ?? 'application/octet-stream';
}

/**
 * The upload's speed and time left from recent progress samples: a sliding window, so a pause
 * (a lost connection) shows as a drop in speed soon, and bytes stored before a reload (a resumed
 * upload starts from them) never count as speed.
 */
export class TransferRate {
  readonly #samples: Array<{ at: number; bytes: number }> = [];
  constructor(readonly windowMs = 5000) {}

  sample(bytes: number, at: number): void {
    this.#samples.push({ at, bytes });
    // Keep one sample older than the window, as the window's start.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.windowMs) this.#samples.shift();
  }

  /** Bytes per second over the window; undefined until there is a second of history. */
  bytesPerSecond(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < 1000) return undefined;
    return Math.max(0, last.bytes - first.bytes) / ((last.at - first.at) / 1000);
  }
}

/** "12.3 MB of 45.6 MB (27%) · 4.10 MB/s · 0:12 left"; speed and time once they are known. */
export function formatTransfer(loaded: number, total: number, bytesPerSecond: number | undefined): string {
  const progress = formatProgress(loaded, total);
  if (bytesPerSecond === undefined || loaded >= total) return progress;
  if (bytesPerSecond === 0) return `${progress} · stalled`;
  return `${progress} · ${formatBytes(bytesPerSecond)}/s · ${formatDuration((total - loaded) / bytesPerSecond)} left`;
}
