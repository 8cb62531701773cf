/**
 * Strict validation of manifests against the Kubernetes 1.27 OpenAPI definitions vendored in
 * schemas/kubernetes-1.27/: every object definition is closed (an unknown field fails, as with
 * `kubectl apply --validate=strict`), the known enums are enforced, required fields must be there.
 */
import Ajv, { ValidateFunction } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';

type JsonSchema = Record<string, unknown>;
type Definitions = Record<string, JsonSchema>;

const SCHEMA_DIR = join(__dirname, '..', '..', 'schemas', 'kubernetes-1.27');
const CRD_DIR = join(__dirname, '..', '..', 'schemas', 'crds');

/** Closes every object schema that lists its properties, as strict field validation does. */
function closeObjects(schema: unknown): void {
  if (Array.isArray(schema)) {
    schema.forEach(closeObjects);
    return;
  }
  if (!schema || typeof schema !== 'object') return;
  const s = schema as JsonSchema;
  if (s.properties && s.additionalProperties === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true) {
    s.additionalProperties = false;
  }
  Object.values(s).forEach(closeObjects);
}

/** The openAPIV3Schema of every served version of every CRD in schemas/crds/<group>/: `apiVersion/kind` -> schema. */
function loadCustomResourceSchemas(): Map<string, JsonSchema> {
  const schemas = new Map<string, JsonSchema>();
  for (const group of readdirSync(CRD_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
    for (const file of readdirSync(join(CRD_DIR, group)).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(join(CRD_DIR, group, file), 'utf8'))) {
        const crd = doc.toJS();
        if (crd?.kind !== 'CustomResourceDefinition') continue;
        for (const version of crd.spec.versions) {
          if (!version.served) continue;
          const schema = version.schema.openAPIV3Schema as JsonSchema;
          closeObjects(schema);
          // metadata is the standard ObjectMeta, which CRD schemas leave open.
          (schema.properties as Record<string, JsonSchema>).metadata = { $ref: 'k8s#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };
          schemas.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, schema);
        }
      }
    }
  }
  return schemas;
}

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
  private readonly customResources = loadCustomResourceSchemas();

  constructor() {
    const definitions = loadDefinitions();
    this.ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, code: { regExp: goRegExp } });
    this.ajv.addSchema({ $id: 'k8s', definitions }, 'k8s');
    for (const [name, definition] of Object.entries(definitions)) {
      const gvks = definition['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined;
      for (const gvk of gvks ?? []) {
        const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
        this.definitionByGvk.set(`${apiVersion}/${gvk.kind}`, name);
      }
    }
  }

  /** The problems of one object, each as `<path> <message>`; empty when it is valid. */
  public validate(object: Record<string, unknown>): string[] {
    const { apiVersion, kind } = object as { apiVersion?: string; kind?: string };
    const gvk = `${apiVersion}/${kind}`;
    const name = this.definitionByGvk.get(gvk);
    const customResource = this.customResources.get(gvk);
    if (!name && !customResource) return [`unknown apiVersion/kind ${gvk} for Kubernetes 1.27 and the CRDs in schemas/crds`];
    let validate = this.compiled.get(gvk);
    if (!validate) {
      validate = this.ajv.compile(customResource ?? { $ref: `k8s#/definitions/${name}` });
      this.compiled.set(gvk, validate);
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

/** CRD patterns are Go (RE2) expressions: a `(?i)` group becomes JavaScript's `i` flag. */
const goRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => new RegExp(pattern.replace(/\(\?i\)/g, ''), pattern.includes('(?i)') ? `${flags}i` : flags),
  { code: 'goRegExp' },
);
