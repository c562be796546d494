/**
 * Reading template.yaml as CloudFormation does: the short-form tags (!Ref, !Sub, !GetAtt, ...)
 * become their long forms, and a small evaluator resolves intrinsic functions against chosen
 * parameter values, so tests can assert what a deployed stack would get.
 */
import { readFile } from 'node:fs/promises';
import { parse, type ScalarTag, type CollectionTag, YAMLMap, YAMLSeq } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface TemplateRule {
  RuleCondition?: Json;
  Assertions: Array<{ Assert: Json; AssertDescription?: string }>;
}
export interface Template {
  Rules?: Record<string, TemplateRule>;
  Parameters?: Record<string, { Type: string; Default?: Json; AllowedPattern?: string; AllowedValues?: Json[]; ConstraintDescription?: string }>;
  Conditions?: Record<string, Json>;
  Mappings?: Record<string, Record<string, Record<string, Json>>>;
  Globals?: { Function?: Record<string, Json> };
  Resources: Record<
    string,
    { Type: string; Condition?: string; Properties?: any; Metadata?: any; DependsOn?: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string }
  >;
  Outputs?: Record<string, { Value: Json; Condition?: string }>;
}

const FUNCTIONS = ['Base64', 'Cidr', 'FindInMap', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Transform', 'If', 'Equals', 'Not', 'And', 'Or'];

function longForm(tagName: string, value: unknown): Json {
  if (tagName === 'Ref') return { Ref: value as string };
  if (tagName === 'Condition') return { Condition: value as string };
  if (tagName === 'GetAtt') {
    if (typeof value === 'string') {
      const dot = value.indexOf('.');
      return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
    }
    return { 'Fn::GetAtt': value as Json };
  }
  return { [`Fn::${tagName}`]: value as Json };
}

const customTags: Array<ScalarTag | CollectionTag> = ['Ref', 'Condition', 'GetAtt', ...FUNCTIONS].flatMap((name) => [
  { tag: `!${name}`, resolve: (value: string) => longForm(name, value) },
  {
    tag: `!${name}`,
    collection: 'seq',
    resolve: (seq: YAMLSeq) => longForm(name, seq.toJSON()),
  } as unknown as CollectionTag,
  {
    tag: `!${name}`,
    collection: 'map',
    resolve: (map: YAMLMap) => longForm(name, map.toJSON()),
  } as unknown as CollectionTag,
]);

export async function loadTemplate(file: string | URL): Promise<Template> {
  return parse(await readFile(file, 'utf8'), { customTags, uniqueKeys: true }) as Template;
}

export interface EvalContext {
  template: Template;
  parameters: Record<string, string>;
  /** What `Ref`/`GetAtt` of a resource gives; default `<LogicalId>` / `<LogicalId>.<Attr>`. */
  resource?: (logicalId: string, attribute?: string) => string;
  pseudo?: Record<string, string>;
}

const DEFAULT_PSEUDO: Record<string, string> = {
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '111122223333',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'vod-prod',
  'AWS::StackId': 'arn:aws:cloudformation:eu-west-1:111122223333:stack/vod-prod/1c2fa620-982a-11e3-aff7-50e2416294e0',
};

/** Parameter values: the given ones over the template's defaults. */
export function parameterValues(template: Template, given: Record<string, string> = {}): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    if (parameter.Default !== undefined) values[name] = String(parameter.Default);
  }
  return { ...values, ...given };
}

export function condition(name: string, context: EvalContext): boolean {
  const expression = context.template.Conditions?.[name];
  if (expression === undefined) throw new Error(`No condition ${name}`);
  return Boolean(evaluate(expression, context));
}

/** Resolves intrinsic functions; throws on one it does not know, so tests never pass by accident. */
export function evaluate(node: Json, context: EvalContext): Json {
  const pseudo = { ...DEFAULT_PSEUDO, ...context.pseudo };
  const ref = (name: string): string => {
    if (name in pseudo) return pseudo[name]!;
    if (name in context.parameters) return context.parameters[name]!;
    if (context.template.Resources[name]) return context.resource?.(name) ?? name;
    throw new Error(`Ref to unknown ${name}`);
  };
  if (Array.isArray(node)) {
    return node.flatMap((item) => {
      const value = evaluate(item, context);
      return value === NO_VALUE ? [] : [value];
    });
  }
  if (node === null || typeof node !== 'object') return node;
  const keys = Object.keys(node);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const argument = node[key]!;
    switch (key) {
      case 'Ref':
        return argument === 'AWS::NoValue' ? NO_VALUE : ref(argument as string);
      case 'Condition':
        return condition(argument as string, context);
      case 'Fn::GetAtt': {
        const [id, attribute] = argument as [string, string];
        if (!context.template.Resources[id]) throw new Error(`GetAtt of unknown ${id}`);
        return context.resource?.(id, attribute) ?? `${id}.${attribute}`;
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? (argument as [string, Record<string, Json>]) : [argument as string, {}];
        return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
          if (variables[name] !== undefined) return String(evaluate(variables[name], context));
          if (name.includes('.') && !(name in pseudo)) {
            const dot = name.indexOf('.');
            return String(evaluate({ 'Fn::GetAtt': [name.slice(0, dot), name.slice(dot + 1)] }, context));
          }
          return ref(name);
        });
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = argument as [string, Json, Json];
        return evaluate(condition(name, context) ? whenTrue : whenFalse, context);
      }
      case 'Fn::Equals': {
        const [a, b] = (argument as Json[]).map((item) => evaluate(item, context));
        return String(a) === String(b);
      }
      case 'Fn::Not':
        return !evaluate((argument as Json[])[0]!, context);
      case 'Fn::And':
        return (argument as Json[]).every((item) => evaluate(item, context));
      case 'Fn::Or':
        return (argument as Json[]).some((item) => evaluate(item, context));
      case 'Fn::FindInMap': {
        const [map, topKey, secondKey] = (argument as Json[]).map((item) => String(evaluate(item, context)));
        const value = context.template.Mappings?.[map!]?.[topKey!]?.[secondKey!];
        if (value === undefined) throw new Error(`FindInMap: ${map} has no ${topKey}.${secondKey}`);
        return value;
      }
      case 'Fn::Join': {
        const [separator, items] = argument as [string, Json];
        return (evaluate(items, context) as Json[]).map(String).join(separator);
      }
      case 'Fn::Split': {
        const [separator, text] = argument as [string, Json];
        return String(evaluate(text, context)).split(separator);
      }
      case 'Fn::Select': {
        const [index, items] = argument as [Json, Json];
        const list = evaluate(items, context);
        const at = Number(evaluate(index, context));
        if (!Array.isArray(list) || !Number.isInteger(at) || at < 0 || at >= list.length)
          throw new Error(`Fn::Select: no item ${at} in ${JSON.stringify(list)}`);
        return list[at]!;
      }
      default:
        if (key.startsWith('Fn::')) throw new Error(`evaluate: ${key} is not implemented`);
    }
  }
  const result: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    const evaluated = evaluate(value, context);
    if (evaluated !== NO_VALUE) result[key] = evaluated;
  }
  return result;
}

/**
 * What CloudFormation's Rules section says about the context's parameter values, as CloudFormation
 * checks it before changing anything: each rule whose RuleCondition holds (or that has none) has
 * every assertion evaluated, and a failing one is returned as `<rule>: <AssertDescription>`. Rules
 * may refer to parameters only, so a Ref to a resource throws here, as an unknown function does.
 */
export function ruleFailures(context: EvalContext): string[] {
  const parametersOnly: EvalContext = { ...context, template: { ...context.template, Resources: {} } };
  const holds = (node: Json) => {
    const value = evaluate(node, parametersOnly);
    if (typeof value !== 'boolean') throw new Error(`a rule's condition or assertion must be a boolean, not ${JSON.stringify(value)}`);
    return value;
  };
  const failures: string[] = [];
  for (const [name, rule] of Object.entries(context.template.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && !holds(rule.RuleCondition)) continue;
    for (const assertion of rule.Assertions) {
      if (!holds(assertion.Assert)) failures.push(`${name}: ${assertion.AssertDescription ?? '(no description)'}`);
    }
  }
  return failures;
}

/**
 * The values CloudFormation refuses before it looks at the Rules: a string outside its parameter's
 * AllowedPattern (which must match the whole value) or AllowedValues, returned as
 * `<parameter>: <ConstraintDescription or the constraint>`.
 */
export function parameterFailures(template: Template, values: Record<string, string>): string[] {
  const failures: string[] = [];
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    const value = values[name];
    if (value === undefined) continue;
    if (parameter.AllowedPattern !== undefined && !new RegExp(`^(?:${parameter.AllowedPattern})$`).test(value)) {
      failures.push(`${name}: ${parameter.ConstraintDescription ?? `must match ${parameter.AllowedPattern}`}`);
    }
    if (parameter.AllowedValues !== undefined && !parameter.AllowedValues.map(String).includes(value)) {
      failures.push(`${name}: ${parameter.ConstraintDescription ?? `must be one of ${parameter.AllowedValues.join(', ')}`}`);
    }
  }
  return failures;
}

/** AWS::NoValue: dropped from lists and maps. */
export const NO_VALUE = '\u0000AWS::NoValue' as const;

/** Logical ids a node refers to (Ref, GetAtt, ${X} and ${X.Attr} in Sub). */
export function referencedIds(node: Json): Set<string> {
  const ids = new Set<string>();
  const walk = (value: Json) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value === null || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') ids.add(inner);
      else if (key === 'Fn::GetAtt') ids.add((inner as string[])[0]!);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? (inner[0] as string) : (inner as string);
        for (const match of text.matchAll(/\$\{([^}!.]+)(?:\.[^}]*)?\}/g)) ids.add(match[1]!);
        if (Array.isArray(inner)) walk(inner[1]!);
      } else walk(inner);
    }
  };
  walk(node);
  return ids;
}

/** EventBridge pattern matching for the forms template.yaml uses (lists of exact values, nesting). */
export function matchesEventPattern(pattern: Json, event: Json): boolean {
  if (Array.isArray(pattern)) return pattern.some((value) => value === event);
  if (pattern === null || typeof pattern !== 'object') return false;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
  return Object.entries(pattern).every(([key, inner]) => key in event && matchesEventPattern(inner, (event as Record<string, Json>)[key]!));
}

/** Whether an S3 notification filter (prefix/suffix rules) selects a key. */
export function s3FilterMatches(rules: Array<{ Name: string; Value: string }>, key: string): boolean {
  return rules.every((rule) =>
    rule.Name.toLowerCase() === 'prefix' ? key.startsWith(rule.Value) : rule.Name.toLowerCase() === 'suffix' ? key.endsWith(rule.Value) : false,
  );
}
