/**
 * fast-check arbitraries from the JSON Schemas of openapi/openapi.json: values a schema accepts,
 * values it should refuse (wrong types, out of range, too long, missing or extra properties), and
 * strings that break naive code (unicode, lone surrogates, control characters, percent signs, path
 * segments, huge lengths). Covers the keywords the document uses: type, enum, anyOf/oneOf, $ref,
 * minLength/maxLength, minimum/maximum, properties/required/additionalProperties, items.
 */
import fc from 'fast-check';
import { openApiDocument, type JsonSchema } from './openapi-contract.ts';

/** Follows `#/components/schemas/...` references. */
export function resolveSchema(schema: JsonSchema): JsonSchema {
  let current = schema;
  while (typeof current.$ref === 'string') {
    const name = current.$ref.replace('#/components/schemas/', '');
    const target = openApiDocument.components.schemas[name];
    if (!target) throw new Error(`no component ${current.$ref}`);
    current = target;
  }
  return current;
}

/** Extra values worth trying for a property or parameter of that name (domain words the schema cannot say). */
export type Hints = Readonly<Record<string, fc.Arbitrary<unknown>>>;

const HUGE = 20_000;

/** Strings that have broken parsers, routers, databases and signers somewhere. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: HUGE }).map((length) => 'x'.repeat(length)), weight: 1 },
  fc.constantFrom(
    ' ',
    '\u0000',
    '\t\r\n',
    '%',
    '%00',
    '%zz',
    '%2F',
    '%252F',
    '..',
    '.',
    '../..',
    '/',
    '\\',
    '?x=1',
    '#x',
    '&',
    '=',
    '+',
    '\u202e\u0635',
    '\ud800',
    '\udfff\ud800',
    '\ufeff',
    '\uffff',
    '🎬'.repeat(40),
    'e\u0301'.repeat(30),
    'ａｂｃ',
    'null',
    'true',
    '0',
    '-1',
    '1e999',
    'NaN',
    'undefined',
    '__proto__',
    'constructor',
    "' OR '1'='1",
    '<script>alert(1)</script>',
    '\r\nX-Injected: 1',
    '${jndi:ldap://x}',
    'a'.repeat(65),
    'a'.repeat(513),
  ),
);

/** Any JSON value, shallow enough to stay cheap. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = (schema.maxLength as number | undefined) ?? 60;
  return fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength, maxLength }), fc.string({ unit: 'grapheme', minLength, maxLength }));
}

function integerValue(schema: JsonSchema): fc.Arbitrary<number> {
  const min = (schema.minimum as number | undefined) ?? Number.MIN_SAFE_INTEGER;
  const max = (schema.maximum as number | undefined) ?? Number.MAX_SAFE_INTEGER;
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max), fc.integer({ min, max: Math.min(max, min + 100) }));
}

/** Values `schema` accepts (`hints` for named properties, mostly, else the schema's own). */
export function validValue(schema: JsonSchema, hints: Hints = {}, name?: string): fc.Arbitrary<unknown> {
  const own = validOf(resolveSchema(schema), hints);
  const hint = name === undefined ? undefined : hints[name];
  return hint ? fc.oneof({ arbitrary: hint, weight: 3 }, { arbitrary: own, weight: 1 }) : own;
}

function validOf(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => validValue(alternative, hints)));
  switch (schema.type) {
    case 'string':
      return stringValue(schema);
    case 'integer':
      return integerValue(schema);
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum as number | undefined, max: schema.maximum as number | undefined });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(validValue((schema.items as JsonSchema | undefined) ?? {}, hints), { maxLength: 5 });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const model = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, validValue(property, hints, key)]));
      return fc.record(model, { requiredKeys: (schema.required as string[] | undefined) ?? [] });
    }
    default:
      return anyJson;
  }
}

/** Values `schema` should refuse, or that sit on its edges: wrong types, out of range, too long, odd. */
export function invalidValue(schema: JsonSchema, hints: Hints = {}): fc.Arbitrary<unknown> {
  const resolved = resolveSchema(schema);
  const wrongType = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    oddString,
    fc.array(anyJson, { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), anyJson, { maxKeys: 3 }),
  );
  const edges: Array<fc.Arbitrary<unknown>> = [wrongType];
  if (Array.isArray(resolved.enum)) {
    edges.push(
      fc.constantFrom(...(resolved.enum as unknown[]).flatMap((value) => [String(value).toUpperCase(), ` ${String(value)}`, `${String(value)}\u0000`])),
    );
  }
  const alternatives = (resolved.anyOf ?? resolved.oneOf) as JsonSchema[] | undefined;
  if (alternatives) edges.push(fc.oneof(...alternatives.map((alternative) => invalidValue(alternative, hints))));
  switch (resolved.type) {
    case 'string': {
      const maxLength = resolved.maxLength as number | undefined;
      if (maxLength !== undefined) edges.push(fc.integer({ min: maxLength + 1, max: maxLength * 4 + 10 }).map((length) => 'y'.repeat(length)));
      if (((resolved.minLength as number | undefined) ?? 0) > 0) edges.push(fc.constant(''));
      edges.push(oddString, fc.integer().map(String));
      break;
    }
    case 'integer':
    case 'number': {
      const min = resolved.minimum as number | undefined;
      const max = resolved.maximum as number | undefined;
      edges.push(
        fc.constantFrom(
          ...(min === undefined ? [] : [min - 1, min - 0.5]),
          ...(max === undefined ? [] : [max + 1, max + 0.5]),
          0.1,
          -0,
          2 ** 53 + 2,
          -(2 ** 53) - 2,
          1e21,
          1e308,
          -1e308,
          5e-324,
        ),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer().map(String),
      );
      break;
    }
    case 'object': {
      const properties = (resolved.properties ?? {}) as Record<string, JsonSchema>;
      const keys = Object.keys(properties);
      const valid = validValue(resolved, hints) as fc.Arbitrary<Record<string, unknown>>;
      if (keys.length > 0) {
        // One property broken, one dropped, or one too many (prototype names included).
        edges.push(
          fc.tuple(valid, fc.constantFrom(...keys)).chain(([object, key]) =>
            fc.oneof(
              invalidValue(properties[key]!, hints).map((value) => ({ ...object, [key]: value })),
              fc.constant(Object.fromEntries(Object.entries(object).filter(([name]) => name !== key))),
            ),
          ),
          // Through JSON text, so `__proto__` becomes an own property, as it does for a server parsing it.
          fc
            .tuple(valid, fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', ''), fc.string({ maxLength: 8 })), anyJson)
            .map(([object, key, value]) => {
              const members = JSON.stringify(object).slice(1, -1);
              return JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value ?? null)}${members ? `,${members}` : ''}}`) as unknown;
            }),
        );
      }
      break;
    }
    default:
      break;
  }
  return fc.oneof(...edges);
}

/** Mostly valid values, often invalid ones: how a client with bugs and an attacker both send. */
export function fuzzValue(schema: JsonSchema, hints: Hints = {}, name?: string): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: validValue(schema, hints, name), weight: 3 }, { arbitrary: invalidValue(schema, hints), weight: 2 });
}
