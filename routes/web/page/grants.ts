/**
 * Playback grants (signed manifest URLs), one per video, kept until they are due for renewal.
 * The player and the posters share them: a poster is signed by its video's grant.
 */
import type { Api, Playback } from './api.ts';
import { refreshDelayMs } from './signed-url.ts';

export interface HeldGrant extends Playback {
  /** Epoch ms when the page received it (the grant's lifetime is measured from here). */
  receivedAt: number;
}

export function createGrants(api: Api) {
  const held = new Map<string, Promise<HeldGrant>>();

  const due = (grant: HeldGrant) => refreshDelayMs(grant, grant.receivedAt, Date.now()) <= 1000;

  async function fetchGrant(videoId: string): Promise<HeldGrant> {
    const playback = await api.getPlayback(videoId);
    return { ...playback, receivedAt: Date.now() };
  }

  return {
    /** A grant that is not yet due for renewal; `fresh` asks the API for a new one regardless. */
    async get(videoId: string, options: { fresh?: boolean } = {}): Promise<HeldGrant> {
      const cached = held.get(videoId);
      if (cached && !options.fresh) {
        const grant = await cached.catch(() => undefined);
        if (grant && !due(grant)) return grant;
      }
      const pending = fetchGrant(videoId);
      held.set(videoId, pending);
      pending.catch(() => {
        if (held.get(videoId) === pending) held.delete(videoId);
      });
      return pending;
    },
    forget(videoId: string): void {
      held.delete(videoId);
    },
    clear(): void {
      held.clear();
    },
  };
}

export type Grants = ReturnType<typeof createGrants>;
