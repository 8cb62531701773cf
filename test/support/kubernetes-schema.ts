/**
 * Strict validation of manifests against the Kubernetes 1.27 OpenAPI definitions vendored in
 * schemas/kubernetes-1.27/: every object definition is closed (an unknown field fails, as with
 * `kubectl apply --validate=strict`), the known enums are enforced, required fields must be there.
 */
import Ajv, { ValidateFunction } from 'ajv';
import { readFileSync } from 'fs';
import { join } from 'path';

type JsonSchema = Record<string, unknown>;
type Definitions = Record<string, JsonSchema>;

const SCHEMA_DIR = join(__dirname, '..', '..', 'schemas', 'kubernetes-1.27');

function loadDefinitions(): Definitions {
  const definitions: Definitions = JSON.parse(readFileSync(join(SCHEMA_DIR, 'k8s-1.27.json'), 'utf8')).definitions;
  const enums: Record<string, Record<string, string[]>> = JSON.parse(readFileSync(join(SCHEMA_DIR, 'k8s-1.27-enums.json'), 'utf8')).enums;
  for (const definition of Object.values(definitions)) {
    if (definition.properties && definition['x-kubernetes-preserve-unknown-fields'] !== true) {
      definition.additionalProperties = false;
    }
  }
  for (const [name, properties] of Object.entries(enums)) {
    const props = definitions[name]?.properties as Record<string, JsonSchema> | undefined;
    if (!props) continue;
    for (const [property, values] of Object.entries(properties)) {
      const isArray = property.endsWith('[]');
      const key = isArray ? property.slice(0, -2) : property;
      if (!props[key]) continue;
      if (isArray) props[key] = { ...props[key], items: { ...(props[key].items as JsonSchema), enum: values } };
      else props[key] = { ...props[key], enum: values };
    }
  }
  return definitions;
}

/** Validates Kubernetes objects by their apiVersion and kind. */
export class KubernetesSchema {
  private readonly ajv: Ajv;
  private readonly definitionByGvk = new Map<string, string>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    const definitions = loadDefinitions();
    this.ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    this.ajv.addSchema({ $id: 'k8s', definitions }, 'k8s');
    for (const [name, definition] of Object.entries(definitions)) {
      const gvks = definition['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined;
      for (const gvk of gvks ?? []) {
        const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
        this.definitionByGvk.set(`${apiVersion}/${gvk.kind}`, name);
      }
    }
  }

  /** Whether the schema knows this apiVersion and kind. */
  public knows(apiVersion: string, kind: string): boolean {
    return this.definitionByGvk.has(`${apiVersion}/${kind}`);
  }

  /** The problems of one object, each as `<path> <message>`; empty when it is valid. */
  public validate(object: Record<string, unknown>): string[] {
    const { apiVersion, kind } = object as { apiVersion?: string; kind?: string };
    const name = this.definitionByGvk.get(`${apiVersion}/${kind}`);
    if (!name) return [`unknown apiVersion/kind ${apiVersion}/${kind} for Kubernetes 1.27`];
    let validate = this.compiled.get(name);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `k8s#/definitions/${name}` });
      this.compiled.set(name, validate);
    }
    const problems: string[] = [];
    if (!validate(object)) {
      for (const error of validate.errors ?? []) {
        const detail = error.keyword === 'additionalProperties'
          ? `has unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`
          : error.keyword === 'enum'
            ? `must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`
            : error.message;
        problems.push(`${error.instancePath || '/'} ${detail}`);
      }
    }
    const metadata = object.metadata as { name?: string } | undefined;
    if (!metadata?.name) problems.push('/metadata/name is missing');
    return problems;
  }
}
