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

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  return text !== '' && isPlain(text) ? text : JSON.stringify(text);
}

/** A literal block (`|` or `|-`) for a multi-line string, when one can hold it exactly. */
function literalBlock(value: string, indent: string): string | undefined {
  if (!value.includes('\n') || /[\r\t\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(value)) return undefined;
  if (value.endsWith('\n\n') || value.startsWith(' ') || value.startsWith('\n')) return undefined;
  const chomp = value.endsWith('\n') ? '|' : '|-';
  const body = value.endsWith('\n') ? value.slice(0, -1) : value;
  return `${chomp}\n${body.split('\n').map((line) => (line === '' ? '' : indent + line)).join('\n')}`;
}

function isCollection(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null && (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0);
}

/** `value` after `key:` or `- `: inline when scalar or empty, else on the next lines at `indent`. */
function node(value: unknown, indent: string): string {
  if (Array.isArray(value) && value.length === 0) return ' []';
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) return ' {}';
  if (typeof value === 'string') {
    const block = literalBlock(value, indent);
    return ` ${block ?? scalar(value)}`;
  }
  if (!isCollection(value)) return ` ${scalar(value)}`;
  return `\n${collection(value, indent)}`;
}

function collection(value: Record<string, unknown> | unknown[], indent: string): string {
  const next = `${indent}  `;
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (isCollection(item) && !Array.isArray(item)) {
        // The first key of a map item shares the line with the dash.
        return `${indent}- ${collection(item, next).slice(next.length)}`;
      }
      return `${indent}-${node(item, next)}`;
    }).join('\n');
  }
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([key, v]) => `${indent}${scalar(key)}:${node(v, next)}`)
    .join('\n');
}

/** One YAML document for a JSON value, ending with a newline. */
export function manifestYaml(value: unknown): string {
  return `${isCollection(value) ? collection(value, '') : node(value, '').trimStart()}\n`;
}

/** Several documents, separated by `---`. */
export function manifestYamlDocuments(values: readonly unknown[]): string {
  return values.map(manifestYaml).join('---\n');
}
