/**
 * The multipart upload the page has not finished, remembered per signed-in user in localStorage,
 * so that after a reload (or a crash, or a closed tab) the page offers to resume it: the user
 * picks the same file again (a page may not keep a file across reloads) and only the parts storage
 * does not hold yet are sent. DOM-free (localStorage is handed in, as a KeyValueStorage); tested in Node.
 */

export interface UnfinishedUpload {
  videoId: string;
  title: string;
  filename: string;
  sizeBytes: number;
  /** With name and size, how the page tells that the file chosen again is the same file. */
  lastModified: number;
}

const keyOf = (viewerId: string) => `vod:unfinished-upload:${viewerId}`;

/** What it uses of the browser's Storage (localStorage), spelled out so that Node's tests need no DOM types. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function createUnfinishedUploads(storage: KeyValueStorage, viewerId: string) {
  const key = keyOf(viewerId);
  return {
    get(): UnfinishedUpload | undefined {
      try {
        const value = JSON.parse(storage.getItem(key) ?? 'null') as Partial<UnfinishedUpload> | null;
        const valid =
          value &&
          typeof value.videoId === 'string' &&
          typeof value.title === 'string' &&
          typeof value.filename === 'string' &&
          Number.isSafeInteger(value.sizeBytes) &&
          Number.isSafeInteger(value.lastModified);
        return valid ? (value as UnfinishedUpload) : undefined;
      } catch {
        // Written by another version of the page, or by hand: as if nothing were there.
        return undefined;
      }
    },
    save(upload: UnfinishedUpload): void {
      try {
        storage.setItem(key, JSON.stringify(upload));
      } catch {
        // Storage full or disabled (private browsing): the upload goes on, it just cannot resume after a reload.
      }
    },
    clear(videoId?: string): void {
      // Only the upload that ended: a newer one may have replaced it meanwhile.
      if (videoId === undefined || this.get()?.videoId === videoId) storage.removeItem(key);
    },
  };
}

export type UnfinishedUploads = ReturnType<typeof createUnfinishedUploads>;

export function isSameFile(upload: UnfinishedUpload, file: { name: string; size: number; lastModified: number }): boolean {
  return upload.filename === file.name && upload.sizeBytes === file.size && upload.lastModified === file.lastModified;
}
