/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for responses), compiled
 * when a route first needs them instead of all at `ready()`.
 *
 * Fastify compiles every route's validators and every response status's serializer at start, and
 * a second time for the HEAD twin of each GET route. A Lambda cold start paid for all of them
 * (about a quarter of the API's init, measured with --cpu-prof) though an invocation uses one
 * route and usually one status. Here each compiled function is a stand-in that compiles on first
 * use, with the same compilers, options and shared schemas, and then behaves exactly like it:
 * same result, same `errors` after a failed validation, same `schemaEnv` (which Fastify checks to
 * let Ajv coerce a whole request part in place).
 *
 * Giving Fastify a `compilersFactory` marks its validator as custom, which changes one thing:
 * header schemas are no longer lower-cased for it. No route declares a header schema.
 *
 * Bodies are validated by their own Ajv instance that never coerces types (BODY_AJV_OPTIONS).
 *
 * `compileAll()` compiles whatever is still pending, so a test can prove every schema compiles
 * (the failure a broken schema would have caused at start now waits for its first request).
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import type AjvCompiler from '@fastify/ajv-compiler';
import type { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

/**
 * The compiler packages are required at the first compile, not imported: an import would load
 * Ajv, its formats and fast-json-stringify with the module, about 25 ms of a cold start. In the
 * esbuild bundle `require` is defined (deploy/build.ts's banner) and esbuild bundles these calls,
 * evaluating each package at its first call; unbundled ESM (tsx) has no `require` and takes
 * Node's own CommonJS loader.
 */
function requireCompilers(): {
  AjvCompiler: typeof AjvCompiler;
  SerializerSelector: typeof SerializerSelector;
} {
  if (typeof require === 'function') {
    return {
      AjvCompiler: require('@fastify/ajv-compiler'),
      SerializerSelector: require('@fastify/fast-json-stringify-compiler').SerializerSelector,
    };
  }
  const nodeRequire = createRequire(import.meta.url);
  return {
    AjvCompiler: nodeRequire('@fastify/ajv-compiler'),
    SerializerSelector: nodeRequire('@fastify/fast-json-stringify-compiler').SerializerSelector,
  };
}

type ValidatorFactory = ReturnType<typeof AjvCompiler>;

/**
 * Types are coerced per HTTP part. A query string, a path and headers are text, so `limit=20`
 * must become the integer 20 (the server's Ajv options, `coerceTypes: 'array'`). A JSON body
 * already says what each value is: `"sizeBytes":"10"`, `[10]` or `"title":["a"]` is a client's
 * mistake to hear about, not to guess at.
 */
export const BODY_AJV_OPTIONS = { coerceTypes: false } as const;
type SerializerFactory = ReturnType<typeof SerializerSelector>;

export interface LazySchemaCompilers {
  /** For the server options: `schemaController: { compilersFactory }`. */
  compilersFactory: NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
  /** Compiles every schema not compiled yet (throws what its compiler throws); returns how many. */
  compileAll(): number;
}

export function createLazySchemaCompilers(): LazySchemaCompilers {
  const pending = new Set<() => unknown>();
  let validatorFactory: ValidatorFactory | undefined;
  let serializerFactory: SerializerFactory | undefined;

  /** `compile` runs once, at the first call; until then it waits in `pending`. */
  function once<T>(compile: () => T): () => T {
    let compiled: { value: T } | undefined;
    const get = () => {
      if (!compiled) {
        compiled = { value: compile() };
        pending.delete(get);
      }
      return compiled.value;
    };
    pending.add(get);
    return get;
  }

  const buildValidator = ((externalSchemas: Parameters<ValidatorFactory>[0], options: Parameters<ValidatorFactory>[1]) => {
    // The Ajv instances (formats, shared schemas) are built at the first compile too: one with the
    // server's options for the parts that arrive as text, one that never coerces for bodies.
    const factory = () => (validatorFactory ??= requireCompilers().AjvCompiler());
    const textCompiler = once(() => factory()(externalSchemas, options));
    const bodyOptions = { ...options, customOptions: { ...options?.customOptions, ...BODY_AJV_OPTIONS } } as Parameters<ValidatorFactory>[1];
    const bodyCompiler = once(() => factory()(externalSchemas, bodyOptions));
    return (route: Parameters<ReturnType<ValidatorFactory>>[0]) => {
      // Fastify passes { schema, method, url, httpPart }; the compiler's typings say only "a schema".
      const { httpPart } = route as { httpPart?: string };
      const validator = once(() => (httpPart === 'body' ? bodyCompiler : textCompiler)()(route));
      const lazy = (...args: unknown[]) => (validator() as (...args: unknown[]) => unknown)(...args);
      Object.defineProperties(lazy, {
        errors: { get: () => (validator() as { errors?: unknown }).errors },
        schemaEnv: { get: () => (validator() as { schemaEnv?: unknown }).schemaEnv },
        schema: { get: () => (validator() as { schema?: unknown }).schema },
      });
      return lazy;
    };
  }) as unknown as ValidatorFactory;

  const buildSerializer = ((externalSchemas: Parameters<SerializerFactory>[0], options: Parameters<SerializerFactory>[1]) => {
    const compiler = once(() => (serializerFactory ??= requireCompilers().SerializerSelector())(externalSchemas, options));
    return (route: Parameters<ReturnType<SerializerFactory>>[0]) => {
      const serializer = once(() => compiler()(route));
      return (data: unknown) => serializer()(data);
    };
  }) as unknown as SerializerFactory;

  return {
    compilersFactory: { buildValidator, buildSerializer },
    compileAll() {
      let count = 0;
      // Compiling a route's schema first builds its compiler, which leaves the set: loop until empty.
      while (pending.size > 0) {
        for (const compile of [...pending]) {
          compile();
          count++;
        }
      }
      return count;
    },
  };
}
