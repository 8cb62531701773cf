/**
 * The whole dist/ matrix as users apply it: layout, order, strict Kubernetes 1.27 validity, labels,
 * determinism, and that the committed dist/ is what the code synthesizes.
 */
import { existsSync, rmSync } from 'fs';
import { join } from 'path';
import { namespaceOf } from '../lib/config/solution-definition';
import { MATRIX, resolvedOf } from './support/solution-objects';
import { ARGOCD_FOLDER } from '../lib/delivery/argocd';
import { PLATFORM_FOLDER } from '../lib/logging';
import { KubernetesSchema } from './support/kubernetes-schema';
import { objectId, readTree, synthesizedMatrix, synthesizeToTemp } from './support/manifests';

const { dir, manifests, environmentManifests } = synthesizedMatrix();
const STANDARD_LABELS = ['name', 'instance', 'version', 'component', 'part-of', 'managed-by'].map((l) => `app.kubernetes.io/${l}`);

describe('dist/ layout', () => {
  test('has a folder per solution and environment of the configuration, the platform\'s, Argo CD\'s, and nothing else', () => {
    const folders = [...new Set([...readTree(dir).keys()].filter((f) => !f.startsWith(`${ARGOCD_FOLDER}/`)).map((f) => f.split('/').slice(0, 2).join('/')))];
    expect(folders.sort()).toEqual([...MATRIX.map(([s, e]) => `${s}/${e}`), `${PLATFORM_FOLDER}/logging`].sort());
    const argocd = [...new Set([...readTree(dir).keys()].filter((f) => f.startsWith(`${ARGOCD_FOLDER}/`)).map((f) => f.split('/').slice(1, 2).join('/')))];
    expect(argocd.sort()).toEqual(['0000-argocd-config.k8s.yaml', '0001-projects.k8s.yaml', '0002-roots.k8s.yaml', ...new Set(MATRIX.map(([s]) => s))].sort());
    expect(MATRIX.length).toBeGreaterThan(0);
  });

  test('applies in one pass: the Namespace is the first object of the first file', () => {
    for (const folder of MATRIX.map(([s, e]) => `${s}/${e}`)) {
      const inFolder = environmentManifests.filter((m) => m.file.startsWith(`${folder}/`));
      const files = [...new Set(inFolder.map((m) => m.file))];
      expect(files).toEqual([...files].sort());
      expect(inFolder[0].object.kind).toBe('Namespace');
      expect(inFolder.filter((m) => m.object.kind === 'Namespace')).toHaveLength(1);
    }
  });

  test('every namespaced object is in its environment\'s namespace', () => {
    for (const m of environmentManifests) {
      if (m.object.kind === 'Namespace') continue;
      expect(`${objectId(m)} -> ${m.object.metadata.namespace}`).toBe(`${objectId(m)} -> ${namespaceOf(resolvedOf(m.solution, m.environment))}`);
    }
  });

  test('every object carries the six standard labels', () => {
    // Argo CD's own objects (dist/argocd/) belong to no solution environment; the two ConfigMaps there
    // are keys merged into Argo CD's installation by server-side apply, which must not take its labels.
    const missing = manifests.filter((m) => m.solution !== ARGOCD_FOLDER).flatMap((m) => STANDARD_LABELS
      .filter((l) => !m.object.metadata?.labels?.[l])
      .map((l) => `${objectId(m)} lacks ${l}`));
    expect(missing).toEqual([]);
  });

  test('object names are unique per kind and namespace', () => {
    const seen = new Set<string>();
    const duplicates: string[] = [];
    for (const m of manifests) {
      const key = `${m.object.kind}/${m.object.metadata.namespace}/${m.object.metadata.name}`;
      if (seen.has(key)) duplicates.push(key);
      seen.add(key);
    }
    expect(duplicates).toEqual([]);
  });
});

describe('Kubernetes 1.27 validity', () => {
  const schema = new KubernetesSchema();

  test('every object in dist/ validates strictly against the 1.27 OpenAPI schema', () => {
    expect(manifests.length).toBeGreaterThan(100);
    const problems = manifests.flatMap((m) => schema.validate(m.object).map((p) => `${objectId(m)} ${p}`));
    expect(problems).toEqual([]);
  });
});

describe('determinism and freshness', () => {
  test('two synths give byte-identical files', () => {
    const second = synthesizeToTemp();
    try {
      expect(readTree(second)).toEqual(readTree(dir));
    } finally {
      rmSync(second, { recursive: true, force: true });
    }
  });

  test('the committed dist/ is what the code synthesizes (run `npm run synth` and commit dist/)', () => {
    const committed = join(__dirname, '..', 'dist');
    expect(existsSync(committed)).toBe(true);
    expect(readTree(committed)).toEqual(readTree(dir));
  });
});
