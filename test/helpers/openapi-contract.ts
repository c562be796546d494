/**
 * The committed OpenAPI document (openapi/openapi.json) as a contract to check answers against:
 * for an operation and a status, is the status declared, is the content type the declared one,
 * does the body validate against the declared schema (Ajv, with the document's own components).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export type JsonSchema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** As the document writes it, e.g. `/videos/{videoId}`. */
  path: string;
  operationId: string;
  parameters: Parameter[];
  security?: unknown[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; headers?: Record<string, { schema: JsonSchema }>; content?: Record<string, { schema: JsonSchema }> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
  components: { schemas: Record<string, JsonSchema> };
}

export const openApiDocument = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;

export const operations: Operation[] = Object.entries(openApiDocument.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ ...operation, parameters: operation.parameters ?? [], method: method.toUpperCase(), path })),
);

export function operation(operationId: string): Operation {
  const found = operations.find((candidate) => candidate.operationId === operationId);
  if (!found) throw new Error(`no operation ${operationId} in openapi/openapi.json`);
  return found;
}

const DOCUMENT_ID = 'https://vod.invalid/openapi.json';
// The document is added whole, so `#/components/schemas/...` inside it resolve; it is not itself a
// JSON Schema (openapi, paths...), hence no strict mode and no meta-schema check.
const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ ...openApiDocument, $id: DOCUMENT_ID });

const pointer = (...segments: string[]) => segments.map((segment) => encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');

const validators = new Map<string, ValidateFunction>();
function validatorFor(...segments: string[]): ValidateFunction {
  const ref = `${DOCUMENT_ID}#/${pointer(...segments)}`;
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
}

/** Response headers as fetch (Headers) or node:http (a record) gives them. */
export type AnswerHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * Problems with an answer against the document, or [] when it keeps the contract. With `headers`,
 * the headers the status declares (429's Retry-After) must be there and match their schemas.
 */
export function contractProblems(
  op: Operation,
  answer: { status: number; contentType: string | null | undefined; body: string; headers?: AnswerHeaders },
): string[] {
  const declared = op.responses[String(answer.status)];
  if (!declared) return [`status ${answer.status} is not declared (declared: ${Object.keys(op.responses).join(', ')})`];
  if (answer.headers && declared.headers) {
    const headerProblems = Object.entries(declared.headers).flatMap(([name, header]) => headerProblemsOf(answer.headers!, name, header.schema));
    if (headerProblems.length > 0) return headerProblems;
  }
  const mediaType = (answer.contentType ?? '').split(';')[0]!.trim();
  if (!declared.content) {
    return answer.body === '' ? [] : [`status ${answer.status} declares no body, got ${answer.body.length} bytes`];
  }
  const content = declared.content[mediaType];
  if (!content)
    return [`content type ${JSON.stringify(answer.contentType)} is not declared for ${answer.status} (${Object.keys(declared.content).join(', ')})`];
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return [`the body is not JSON: ${answer.body.slice(0, 200)}`];
  }
  const validate = validatorFor('paths', op.path, op.method.toLowerCase(), 'responses', String(answer.status), 'content', mediaType, 'schema');
  if (validate(body)) return [];
  return [`the body does not match the declared schema: ${ajv.errorsText(validate.errors)}; body ${answer.body.slice(0, 300)}`];
}

/** Validates against a named component schema, e.g. `Problem`. */
export function schemaProblems(component: string, value: unknown): string[] {
  const validate = validatorFor('components', 'schemas', component);
  return validate(value) ? [] : [ajv.errorsText(validate.errors)];
}

function headerProblemsOf(headers: AnswerHeaders, name: string, schema: JsonSchema): string[] {
  const raw = headers instanceof Headers ? headers.get(name) : headers[name.toLowerCase()];
  const text = Array.isArray(raw) ? raw.join(', ') : raw;
  if (text === undefined || text === null) return [`header ${name} is declared but missing`];
  const value = schema.type === 'integer' || schema.type === 'number' ? (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text) : text;
  const validate = ajv.compile(schema);
  return validate(value) ? [] : [`header ${name}: ${JSON.stringify(text)} ${ajv.errorsText(validate.errors)}`];
}
