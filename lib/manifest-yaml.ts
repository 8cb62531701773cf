/**
 * YAML for Kubernetes manifests: JSON data (maps, lists, strings, numbers, booleans, null) in the
 * block style kubectl and cdk8s write, with multi-line strings (scripts, config files) as literal
 * blocks so that dist/ reads well in review.
 *
 * Why not a YAML library: js-yaml analyses every scalar against all YAML types and was the largest
 * single cost of `npm run synth`. Manifests are JSON data, so a string is either provably plain or
 * written double-quoted with JSON escapes (valid YAML 1.1 and 1.2). test/manifest-yaml.test.ts
 * round-trips every object of dist/ and a set of tricky values through js-yaml's parser.
 */

/** Strings a YAML 1.1 or 1.2 parser would read as something else (bool, null, number, date). */
const IMPLICIT_TYPE = new RegExp([
  '^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$',
  '^(?:null|Null|NULL|~)$',
  '^[-+]?(?:\\d[\\d_]*)?\\.?[\\d_]*(?:[eE][-+]?\\d+)?$', // ints, floats, 1_000, 1e3
  '^[-+]?0[xob][0-9a-fA-F_]+$',
  '^[-+]?\\.(?:inf|Inf|INF|nan|NaN|NAN)$',
  '^[-+]?\\d[\\d_]*(?::[0-5]?\\d)+(?:\\.\\d*)?$', // YAML 1.1 base 60: 10:30
  '^\\d{4}-\\d\\d?-\\d\\d?', // timestamps
  '^<<$',
].join('|'));

/**
 * Characters a plain scalar may hold: no indicators that start or end anything. A leading `-` is
 * fine when a non-space follows (`--port`), but not alone, before a space, or as `---`.
 */
const PLAIN = /^(?!-$|-\s|---)[-A-Za-z0-9_./(][A-Za-z0-9_./()@%+,=:$ -]*$/;

function isPlain(value: string): boolean {
  return PLAIN.test(value)
    && !IMPLICIT_TYPE.test(value)
    && !value.endsWith(' ')
    && !value.endsWith(':')
    && !value.includes(': ')
    && !value.includes(' #');
}

// Keys and short values repeat across thousands of objects: their written form is remembered.
const scalarCache = new Map<string, string>();

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  const known = scalarCache.get(text);
  if (known !== undefined) return known;
  const written = text !== '' && isPlain(text) ? text : JSON.stringify(text);
  if (text.length <= 64) scalarCache.set(text, written);
  return written;
}

const NOT_LITERAL = /[\r\t\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/** A literal block (`|` or `|-`) for a multi-line string, when one can hold it exactly. */
function literalBlock(value: string, indent: string): string | undefined {
  if (!value.includes('\n') || NOT_LITERAL.test(value)) return undefined;
  if (value.endsWith('\n\n') || value.startsWith(' ') || value.startsWith('\n')) return undefined;
  const chomp = value.endsWith('\n') ? '|' : '|-';
  const body = value.endsWith('\n') ? value.slice(0, -1) : value;
  // Every line indented, empty lines left empty (the body neither starts nor ends with a newline).
  return `${chomp}\n${indent}${body.replace(/\n(?!\n)/g, `\n${indent}`)}`;
}

function isEmptyMap(value: object): boolean {
  for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) return false;
  return true;
}

/**
 * Appends `value` as written after `key:` or `- `: inline when scalar or empty, else on the next
 * lines at `indent`.
 */
function writeNode(out: string[], value: unknown, indent: string): void {
  if (typeof value === 'string') {
    out.push(' ', literalBlock(value, indent) ?? scalar(value));
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.push(' []');
    else { out.push('\n'); writeList(out, value, indent); }
  } else if (typeof value === 'object' && value !== null) {
    if (isEmptyMap(value)) out.push(' {}');
    else { out.push('\n'); writeMap(out, value as Record<string, unknown>, indent, indent); }
  } else {
    out.push(' ', scalar(value));
  }
}

function writeList(out: string[], value: readonly unknown[], indent: string): void {
  const next = `${indent}  `;
  value.forEach((item, i) => {
    if (i > 0) out.push('\n');
    if (typeof item === 'object' && item !== null && !Array.isArray(item) && !isEmptyMap(item)) {
      // The first key of a map item shares the line with the dash.
      writeMap(out, item as Record<string, unknown>, `${indent}- `, next);
    } else {
      out.push(indent, '-');
      writeNode(out, item, next);
    }
  });
}

/** A map's entries at `indent`, the first one after `firstPrefix` (the list dash of an item). */
function writeMap(out: string[], value: Record<string, unknown>, firstPrefix: string, indent: string): void {
  const next = `${indent}  `;
  let first = true;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    if (!first) out.push('\n');
    out.push(first ? firstPrefix : indent, scalar(key), ':');
    first = false;
    writeNode(out, v, next);
  }
}

/** One YAML document for a JSON value, ending with a newline. */
export function manifestYaml(value: unknown): string {
  const out: string[] = [];
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !isEmptyMap(value)) {
    writeMap(out, value as Record<string, unknown>, '', '');
  } else if (Array.isArray(value) && value.length > 0) {
    writeList(out, value, '');
  } else {
    writeNode(out, value, '');
    out[0] = out[0].trimStart();
  }
  out.push('\n');
  return out.join('');
}

/** Several documents, separated by `---`. */
export function manifestYamlDocuments(values: readonly unknown[]): string {
  return values.map(manifestYaml).join('---\n');
}
