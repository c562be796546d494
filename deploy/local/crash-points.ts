/**
 * Named moments at which the chaos test (test/chaos/) kills the whole local stack, as a power cut
 * would: the stack process started with `VOD_CRASH_AT=<name>` sends itself SIGKILL the first time
 * it reaches that point. Nothing runs after it, no cleanup, no flush: what survives is what was
 * durable. Only the stand-ins have crash points; the application's own code has none.
 */
export type CrashPoint =
  /** The S3 stand-in has answered 200 to a source upload, before its notification is recorded. */
  | 'after-upload-200'
  /** The worker has persisted a new job, before the app hears its id. */
  | 'after-job-submit'
  /** A job's final state (COMPLETE / ERROR) is written, before its event is published. */
  | 'job-complete'
  | 'job-error'
  /** The S3 stand-in received the DeleteObjects of a video's deletion, before it deletes anything. */
  | 'during-delete';

export const CRASH_POINTS: readonly CrashPoint[] = ['after-upload-200', 'after-job-submit', 'job-complete', 'job-error', 'during-delete'];

const armed = process.env.VOD_CRASH_AT;

/** Whether this run dies at `name` (the stack then holds back what that point must not see durable). */
export const crashArmed = (name: CrashPoint) => armed === name;

export function crashPoint(name: CrashPoint): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
