/**
 * Events are checked where they enter, against the TypeBox schemas of src/schemas/events.ts (the
 * idea of Powertools' parser): a handler works only on an event of the shape it declares, and a
 * malformed one is refused with what is wrong and where, instead of failing deeper in with an
 * undefined. Thrown, so Lambda's retries and then the function's dead-letter queue keep the event
 * for a person to look at; nothing is dropped silently.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Errors } from '@sinclair/typebox/errors';
import { Check } from '@sinclair/typebox/value';

export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
  constructor(
    readonly eventName: string,
    readonly problems: string[],
  ) {
    super(`Not a ${eventName}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
  }
}

/** A parser of one kind of event: the event itself when it has the schema's shape, else MalformedEventError. */
export function eventParser<T extends TSchema>(eventName: string, schema: T): (event: unknown) => Static<T> {
  return (event) => {
    if (Check(schema, event)) return event;
    const problems = [...Errors(schema, event)].map((error) => `${error.path || '(the event)'}: ${error.message}`);
    throw new MalformedEventError(eventName, problems);
  };
}
