/**
 * What code that logs asks of its logger, pino-style: the details first, then the message. pino's
 * logger and its children, Fastify's `request.log` and `console` all fit it as they are, so the
 * reconciler, the local stack and the stand-ins take whichever their caller has and name no
 * logging package. A caller that needs fewer levels takes `Pick<Logger, ...>`.
 */
export interface Logger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}
