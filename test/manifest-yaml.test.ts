/** The manifest YAML writer: what it writes reads back, through a YAML parser, as exactly what was given. */
import fc from 'fast-check';
import { loadAll } from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { manifestYaml, manifestYamlDocuments } from '../lib/manifest-yaml';
import { synthesizedMatrix } from './support/manifests';

/** Parses with both js-yaml (YAML 1.2 core) and the yaml package in YAML 1.1 mode (what kubectl's go-yaml resembles). */
function readBack(text: string): { jsYaml: unknown[]; yaml11: unknown[] } {
  return {
    jsYaml: loadAll(text),
    yaml11: parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS()),
  };
}

const TRICKY_STRINGS = [
  '', ' ', 'a ', ' a', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'true', 'False', 'null', '~', 'Null',
  '0', '0755', '0644', '012', '08', '09.5', '-0755', '+0o17', '00', '1,000', '0x', '0b', '-1', '+1', '1.5', '.5', '1e3', '1_000', '0x1f', '0o17', '0b101', '.inf', '-.Inf', '.NaN', '10:30', '1:20:30',
  '2026-11-23', '2026-11-23T10:00:00Z', '<<', '1.0.0', 'v1.2.3', '500m', '2Gi', '0.0.0.0/0',
  'a: b', 'a:', 'a #b', 'a#b', '#a', '- a', '-a', '-', '--', '---', '--port=80', '-1.5', '? a', '[a]', '{a}', '*.example.com', '&a', '!a', '|a', '>a', '%a', '@a', '`a', '"a"', "'a'",
  'http://api:8000', 'redis-0.redis-headless.ns.svc:6379', '$(POD_NAME).redis', 'a\\b', 'tab\there', 'line\r\nbreak',
  'one\ntwo', 'one\ntwo\n', 'one\ntwo\n\n', '\none', ' one\ntwo', 'one\n  indented\n\nblank\n', '#!/bin/bash\nset -eu\necho "$X" # comment\n',
  'trailing space \nline', 'unicode 智能物流 é', '\u2028sep', 'nul\u0000byte',
];

describe('manifestYaml', () => {
  test.each(TRICKY_STRINGS.map((s) => [JSON.stringify(s), s]))('string %s reads back unchanged, as a value and as a key', (_, value) => {
    const doc = { value, list: [value, { value }], [value === '' ? 'empty' : value]: 1 };
    const text = manifestYaml(doc);
    const { jsYaml, yaml11 } = readBack(text);
    expect(jsYaml).toEqual([doc]);
    expect(yaml11).toEqual([doc]);
  });

  test('numbers, booleans, null, empty collections and nesting read back unchanged', () => {
    const doc = {
      int: 8000, negative: -1, float: 0.8, big: 1e21, yes: true, no: false, nothing: null,
      emptyMap: {}, emptyList: [], nested: { list: [[1, 2], [], {}, [{ a: 1, b: [{ c: 'd' }] }]] },
    };
    const { jsYaml, yaml11 } = readBack(manifestYaml(doc));
    expect(jsYaml).toEqual([doc]);
    expect(yaml11).toEqual([doc]);
  });

  test('quotes strings a YAML 1.1 reader takes for numbers: file modes, octal, leading zeros', () => {
    expect(manifestYaml({ mode: '0755', port: '8080', version: '1.10', id: '012' })).toBe('mode: "0755"\nport: "8080"\nversion: "1.10"\nid: "012"\n');
  });

  test('writes block style with indented lists and literal blocks for scripts', () => {
    expect(manifestYaml({ metadata: { name: 'api', labels: { app: 'api' } }, spec: { ports: [{ name: 'http', port: 80 }], args: ['--a', '1'] } }))
      .toBe('metadata:\n  name: api\n  labels:\n    app: api\nspec:\n  ports:\n    - name: http\n      port: 80\n  args:\n    - --a\n    - "1"\n');
    expect(manifestYaml({ data: { 'run.sh': '#!/bin/sh\necho hi\n' } })).toBe('data:\n  run.sh: |\n    #!/bin/sh\n    echo hi\n');
  });

  test('property: any string, any key and any JSON document the writer emits reads back unchanged', () => {
    // Strings biased towards YAML's special characters and words, plus arbitrary unicode.
    const yamlish = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'-:#?&*!|>%@`\'" \t\n\r{}[],.0123456789eExXoObB+_~yYnNtTfF'.split('')), maxLength: 12 }),
      fc.constantFrom(...TRICKY_STRINGS),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    fc.assert(fc.property(yamlish, yamlish, (key, value) => {
      const doc = { value, list: [value], [key === '' ? 'empty' : key]: { nested: value } };
      const { jsYaml, yaml11 } = readBack(manifestYaml(doc));
      expect(jsYaml).toEqual([doc]);
      expect(yaml11).toEqual([doc]);
    }), { numRuns: 2000, seed: 20261128 });
    const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => !Object.is(v, -0));
    fc.assert(fc.property(json, (value) => {
      const { jsYaml, yaml11 } = readBack(manifestYamlDocuments([value]));
      expect(jsYaml).toEqual([value]);
      expect(yaml11).toEqual([value]);
    }), { numRuns: 500, seed: 20261128 });
  });

  test('every object of every environment in dist/ reads back unchanged', () => {
    const objects = synthesizedMatrix().manifests.map((m) => m.object);
    const { jsYaml, yaml11 } = readBack(manifestYamlDocuments(objects));
    expect(jsYaml).toEqual(objects);
    expect(yaml11).toEqual(objects);
  });
});
