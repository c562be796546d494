// These packages ship no type declarations; these cover what deploy/local uses of them.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }
  export default class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    /** The listening server, once run() resolved. */
    httpServer?: import('node:http').Server;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}

declare module 'dynalite' {
  import type { Server } from 'node:http';
  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module 'write-file-atomic' {
  /**
   * Writes `data` to `<filename>.<hash>` beside the file, fsyncs it and renames it over the file;
   * the temporary file is removed when the write fails (or the process exits in between).
   */
  export default function writeFileAtomic(filename: string, data: string | Uint8Array): Promise<void>;
}
