/**
 * The solutions' settings checked against a schema derived from their TypeScript types, at run
 * time: `npm run synth` bundles with esbuild, which strips types, so without this a misspelt key
 * (`replcas`) was silently ignored and a removed required section crashed or vanished.
 *
 * Why a generated JSON Schema (ts-json-schema-generator) and ajv standalone code rather than zod:
 * the types stay the only source (the settings are the constructs' props, lib/data's included,
 * and a prop added there reaches the schema by regenerating, which test/config.test.ts demands),
 * nothing is written twice; and the validator is compiled ahead of time into plain functions
 * (settings-validator.generated.ts), so synth pays neither a schema library nor a compilation:
 * importing and checking all six environments adds a few milliseconds.
 */
import { closest, distance } from 'fastest-levenshtein';
import * as generated from './settings-validator.generated';
import schemaDocument from './settings.schema.json';

/** A settings type the schema has a root for (lib/config/settings-schema.generate.ts, SETTINGS_ROOTS). */
export type SettingsTypeName = keyof typeof generated;

/** One problem the schema found: the field (`api.replcas`) and the full line. */
export interface SchemaProblem {
  readonly field: string;
  readonly message: string;
  /** A field the type does not have; the section around it is still well-formed. */
  readonly unknownField: boolean;
}

/** What an ajv standalone validator reports (no `verbose`: the schema is looked up only on failure). */
interface AjvError {
  readonly instancePath: string;
  readonly schemaPath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}
type StandaloneValidator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

const validators = generated as unknown as Record<SettingsTypeName, StandaloneValidator>;

/** Every structural problem of `settings` as the type `type` sees it; none when it conforms. */
export function schemaProblems(type: SettingsTypeName, settings: unknown, where: string): SchemaProblem[] {
  const validate = validators[type];
  if (typeof validate !== 'function') {
    throw new Error(`no schema for the settings type ${type}: add it to SETTINGS_ROOTS and run npx ts-node lib/config/settings-schema.generate.ts`);
  }
  if (validate(settings)) return [];
  const problems = (validate.errors ?? []).map((error) => describe(type, error, settings, where));
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.message) && seen.add(p.message));
}

function describe(type: SettingsTypeName, error: AjvError, settings: unknown, where: string): SchemaProblem {
  const path = pointerTokens(error.instancePath);
  const value = valueAt(settings, path);
  const line = (field: string, expectation: string, shown: unknown, unknownField = false): SchemaProblem => ({
    field, unknownField, message: `${where}: ${field} must be ${expectation} but ${show(shown)} was provided`,
  });
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      const known = Object.keys(schemaAt(type, path)?.properties ?? {});
      return line(fieldName([...path, key]), `a known field ${suggestion(key, known)}`, valueAt(value, [key]), true);
    }
    case 'required': {
      const key = String(error.params.missingProperty);
      return line(fieldName([...path, key]), 'set (it is required; an environment cannot remove it)', undefined);
    }
    case 'type':
      return line(fieldName(path), typeName(String(error.params.type)), value);
    case 'enum':
      return line(fieldName(path), `one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')}`, value);
    case 'const':
      return line(fieldName(path), show(error.params.allowedValue), value);
    default:
      // ajv's own messages read "must ...": `must match a schema in anyOf`.
      return line(fieldName(path), (error.message ?? 'valid').replace(/^must (be )?/, ''), value);
  }
}

/** `(did you mean replicas?)` for a near miss, else the fields there are. */
function suggestion(key: string, known: string[]): string {
  if (known.length === 0) return '(there are none here)';
  const best = closest(key, known);
  // A third of the name may be wrong (`autoscalling`, `mysqll`, `replcas`); more is another word.
  if (distance(key, best) <= Math.max(1, Math.floor(key.length / 3))) return `(did you mean ${best}?)`;
  return `(one of ${known.join(', ')})`;
}

function typeName(type: string): string {
  const names: Record<string, string> = { object: 'an object', array: 'a list', integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', null: 'null' };
  const all = type.split(',').map((t) => names[t] ?? t);
  return all.length === 1 ? all[0] : `${all.slice(0, -1).join(', ')} or ${all[all.length - 1]}`;
}

interface SchemaNode {
  readonly $ref?: string;
  readonly properties?: Record<string, SchemaNode>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
}

/**
 * The schema of the value at `path` below the root `type`, for the names of the fields it knows
 * (a standalone validator's errors give the path in the data, not which definition applied).
 */
function schemaAt(type: SettingsTypeName, path: readonly string[]): SchemaNode | undefined {
  const definitions = (schemaDocument as { definitions: Record<string, SchemaNode> }).definitions;
  const resolve = (node: SchemaNode | undefined) => (node?.$ref ? definitions[decodeURIComponent(node.$ref.replace('#/definitions/', ''))] : node);
  let node = resolve(definitions[type]);
  for (const token of path) {
    const next = node?.properties?.[token] ?? node?.items ?? (typeof node?.additionalProperties === 'object' ? node.additionalProperties : undefined);
    node = resolve(next);
  }
  return node;
}

function pointerTokens(pointer: string): string[] {
  return pointer === '' || pointer === '/' ? [] : pointer.replace(/^\//, '').split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(data: unknown, tokens: readonly string[]): unknown {
  return tokens.reduce<unknown>((node, token) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[token] : undefined), data);
}

/** `api.resources.limits.cpu`, `ingress.hosts[0]`: the form the value checks use. */
function fieldName(tokens: readonly string[]): string {
  return tokens.reduce((field, token) => (/^\d+$/.test(token) ? `${field}[${token}]` : field ? `${field}.${token}` : token), '');
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  const json = JSON.stringify(value);
  // A whole section in one line would hide the message: its start is enough to recognise it.
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
