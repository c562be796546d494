/**
 * The reconciler over a running test stack, each run with its clock moved forward so that no test
 * waits for a period to pass: the stack's own video service unless a test brings another, and
 * settings under which it acts at once (a minute's grace, two attempts, no backoff).
 */
import type { LocalStack } from '../../deploy/local/stack.ts';
import { createReconciler, RUN_LIMITS, type ReconcileReport, type ReconcilerDeps, type ReconcilerSettings } from '../../src/domain/reconciler.ts';

export function reconcileSettings(stack: LocalStack): ReconcilerSettings {
  return {
    graceSeconds: 60,
    silentJobSeconds: 3600,
    uploadUrlTtlSeconds: stack.config.UPLOAD_URL_TTL_SECONDS,
    maxAttempts: 2,
    backoffSeconds: 0,
    playbackLifetime: { ttlSeconds: stack.config.PLAYBACK_URL_TTL_SECONDS, marginSeconds: stack.config.PLAYBACK_URL_MARGIN_SECONDS },
    ...RUN_LIMITS,
  };
}

type RunDeps = Pick<ReconcilerDeps, 'catalog' | 'storage' | 'transcoder' | 'logger'>;

/** A run `aheadSeconds` in the future, with `deps` (and `override`, for one run) around the reconciler. */
export function stackReconciler(stack: LocalStack, deps: RunDeps) {
  const settings = reconcileSettings(stack);
  return (aheadSeconds: number, override: Partial<RunDeps & Pick<ReconcilerDeps, 'videos'>> = {}): Promise<ReconcileReport> =>
    createReconciler({
      videos: stack.services.videos,
      settings,
      ...deps,
      ...override,
      now: () => new Date(Date.now() + aheadSeconds * 1000),
    })();
}
