/**
 * Checks a request (or a response) against an AWS service's API model: botocore's service-2.json
 * on this machine (the Python SDK of the machine image), which carries every member's shape,
 * required members, enums, min/max and patterns. A CreateJob MediaConvert would refuse for a
 * wrong enum or a missing member is found here, without an AWS account.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'double' | 'float' | 'boolean' | 'timestamp' | 'blob';
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  enum?: string[];
  pattern?: string;
  min?: number;
  max?: number;
}

export interface ServiceModel {
  operations: Record<string, { input?: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

let botocoreDir: string | undefined;

/** botocore's data folder, from the machine's Python. */
function botocoreData(): string {
  botocoreDir ??= execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], { encoding: 'utf8' }).trim();
  return path.join(botocoreDir, 'data');
}

/** The newest API version of a service's model. */
export function loadServiceModel(service: string): ServiceModel {
  const dir = path.join(botocoreData(), service);
  const version = readdirSync(dir)
    .filter((name) => /^\d{4}-\d\d-\d\d$/.test(name))
    .sort()
    .at(-1);
  if (!version) throw new Error(`botocore has no model for ${service}`);
  const file = path.join(dir, version, 'service-2.json');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : gunzipSync(readFileSync(`${file}.gz`)).toString('utf8');
  return JSON.parse(text) as ServiceModel;
}

/** Java-flavoured patterns as JavaScript RegExps; undefined when one does not translate. */
function patternOf(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    try {
      return new RegExp(pattern);
    } catch {
      return undefined;
    }
  }
}

/** Every way `value` breaks the shape `shapeName`, as `path: problem` lines. */
export function validateShape(model: ServiceModel, shapeName: string, value: unknown, where = '$'): string[] {
  const shape = model.shapes[shapeName];
  if (!shape) return [`${where}: the model has no shape ${shapeName}`];
  const problems: string[] = [];
  const range = (measure: number, what: string) => {
    if (shape.min !== undefined && measure < shape.min) problems.push(`${where}: ${what} ${measure} is below the minimum ${shape.min} (${shapeName})`);
    if (shape.max !== undefined && measure > shape.max) problems.push(`${where}: ${what} ${measure} is above the maximum ${shape.max} (${shapeName})`);
  };
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: expected a structure (${shapeName})`];
      const record = value as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        if (record[name] === undefined) problems.push(`${where}.${name}: required by ${shapeName}`);
      }
      for (const [name, member] of Object.entries(record)) {
        if (member === undefined) continue;
        const definition = shape.members?.[name];
        if (!definition) problems.push(`${where}.${name}: ${shapeName} has no such member`);
        else problems.push(...validateShape(model, definition.shape, member, `${where}.${name}`));
      }
      return problems;
    }
    case 'list':
      if (!Array.isArray(value)) return [`${where}: expected a list (${shapeName})`];
      range(value.length, 'length');
      value.forEach((item, i) => problems.push(...validateShape(model, shape.member!.shape, item, `${where}[${i}]`)));
      return problems;
    case 'map':
      if (typeof value !== 'object' || value === null) return [`${where}: expected a map (${shapeName})`];
      for (const [key, item] of Object.entries(value)) {
        problems.push(...validateShape(model, shape.key!.shape, key, `${where} key ${key}`));
        problems.push(...validateShape(model, shape.value!.shape, item, `${where}.${key}`));
      }
      return problems;
    case 'string': {
      if (typeof value !== 'string') return [`${where}: expected a string (${shapeName})`];
      range(value.length, 'length');
      if (shape.enum && !shape.enum.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of ${shapeName}'s values`);
      const pattern = shape.pattern ? patternOf(shape.pattern) : undefined;
      if (pattern && !pattern.test(value)) problems.push(`${where}: ${JSON.stringify(value)} does not match ${shape.pattern} (${shapeName})`);
      return problems;
    }
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${where}: expected an integer (${shapeName})`];
      range(value, 'value');
      return problems;
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return [`${where}: expected a number (${shapeName})`];
      range(value, 'value');
      return problems;
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${where}: expected a boolean (${shapeName})`];
    case 'timestamp':
      return value instanceof Date || typeof value === 'number' ? [] : [`${where}: expected a timestamp (${shapeName})`];
    default:
      return problems;
  }
}

/** Every way `input` breaks an operation's input shape. */
export function validateOperationInput(model: ServiceModel, operation: string, input: unknown): string[] {
  const shape = model.operations[operation]?.input?.shape;
  if (!shape) return [`the model has no operation ${operation}`];
  return validateShape(model, shape, input);
}

/** Every way `output` breaks an operation's output shape. */
export function validateOperationOutput(model: ServiceModel, operation: string, output: unknown): string[] {
  const shape = model.operations[operation]?.output?.shape;
  if (!shape) return [`the model has no operation ${operation}`];
  return validateShape(model, shape, output);
}

/**
 * A value as a REST-JSON service puts it on the wire (members under their locationName, e.g.
 * `settings.outputGroups`) back in the model's member names (`Settings.OutputGroups`), following
 * the shapes: map keys are data and stay as they are.
 */
export function fromWire(model: ServiceModel, shapeName: string, value: unknown): unknown {
  const shape = model.shapes[shapeName];
  if (!shape || value === null || typeof value !== 'object') return value;
  if (shape.type === 'list' && Array.isArray(value)) return value.map((item) => fromWire(model, shape.member!.shape, item));
  if (shape.type === 'map') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fromWire(model, shape.value!.shape, item)]));
  }
  if (shape.type === 'structure') {
    const byWireName = new Map(
      Object.entries(shape.members ?? {}).map(([name, member]) => [(member as { locationName?: string }).locationName ?? name, { name, shape: member.shape }]),
    );
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        const member = byWireName.get(key);
        return member ? [member.name, fromWire(model, member.shape, item)] : [key, item];
      }),
    );
  }
  return value;
}
