// autocannon ships no type declarations; this covers what test/bench/lib/load.ts uses of it.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';
  interface Options {
    url: string;
    headers?: Record<string, string>;
    connections?: number;
    duration?: number;
    amount?: number;
    requests?: Array<{ method?: string; path?: string }>;
  }
  interface Result {
    non2xx: number;
    errors: number;
    timeouts: number;
  }
  interface Instance extends EventEmitter, PromiseLike<Result> {}
  function autocannon(options: Options): Instance;
  namespace autocannon {
    export type { Result };
  }
  export default autocannon;
}
