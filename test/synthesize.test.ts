/** The synth path as users meet it: policies refuse insecure output, and the README documents every rule. */
import { k8s } from 'cdk8s-plus-27';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { environmentsOf } from '../lib/config/solution-definition';
import { Policies } from '../lib/policy';
import { SOLUTIONS } from '../lib/solutions';
import { AppTierSettings } from '../lib/config/app-tier-settings';
import { SolutionDefinition } from '../lib/config/solution-definition';
import { PolicyViolationError } from '../lib/policy/policy-violation-error';
import { logisticsSolution } from '../lib/solutions/logistics';
import { realEstateSolution } from '../lib/solutions/real-estate';
import { buildEnvironment, Solution } from '../lib/solutions/solution';
import { SynthFailure, synthesize } from '../lib/synthesize';
import { PLATFORM_FOLDER } from '../lib/logging';
import { readTree } from './support/manifests';

describe('synth refuses an insecure change', () => {
  test('a container without resources, probes or a pinned image stops synth, and nothing is written', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'insecure-'));
    const app = buildEnvironment(logisticsSolution, 'prod', outdir);
    new k8s.KubeDeployment(app.appChart, 'worker', {
      metadata: { name: 'worker' },
      spec: {
        selector: { matchLabels: { app: 'worker' } },
        template: { metadata: { labels: { app: 'worker' } }, spec: { containers: [{ name: 'worker', image: 'worker:latest' }] } },
      },
    });
    expect(() => app.synth()).toThrow(PolicyViolationError);
    expect(() => app.synth()).toThrow(/Deployment logistics-prod\/worker container "worker": \[resources-set\]/);
    expect(() => app.synth()).toThrow(/\[image-pinned\]/);
    expect(() => app.synth()).toThrow(/\[probes-set\]/);
    expect(() => app.synth()).toThrow(/\[pod-security-restricted\]/);
    expect(existsSync(join(outdir, 'logistics', 'prod', '0002-app.k8s.yaml'))).toBe(false);
  });

  test('every environment passes every rule with no exemptions', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'secure-'));
    for (const solution of SOLUTIONS) {
      for (const environment of environmentsOf(solution.definition)) {
        const app = buildEnvironment(solution, environment, outdir);
        expect(Policies.check(app).map(String)).toEqual([]);
      }
    }
    // The platform's log shipper has its two documented exemptions (test/logging.test.ts); the solutions none.
    const exemptions = [...readTree(join(__dirname, '..', 'dist'))].filter(([file, yaml]) => !file.startsWith(`${PLATFORM_FOLDER}/`) && /policy\.ai-platform\.io\/exempt-/.test(yaml));
    expect(exemptions).toEqual([]);
  });
});

describe('README', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

  test('lists every policy rule as the engine defines it', () => {
    expect(readme).toContain(Policies.markdownTable());
  });

  test('shows the two set-up commands and the deploy command', () => {
    expect(readme).toContain('npm install && npm run synth');
    expect(readme).toContain('npm test');
    expect(readme).toContain('kubectl apply -f dist/');
  });
});

/** A copy of a solution with its definition changed by `change`. */
function variant<S extends AppTierSettings>(solution: Solution<S>, change: (d: SolutionDefinition<S>) => SolutionDefinition<S>): Solution<AppTierSettings> {
  return { ...solution, definition: change(solution.definition) } as unknown as Solution<AppTierSettings>;
}

/** An output folder holding a marker file, to prove a failed synth leaves it as it was. */
function existingOutput(): { outdir: string; marker: string } {
  const outdir = join(mkdtempSync(join(tmpdir(), 'synth-')), 'dist');
  mkdirSync(join(outdir, 'logistics', 'prod'), { recursive: true });
  const marker = join(outdir, 'logistics', 'prod', '0002-app.k8s.yaml');
  writeFileSync(marker, 'the last good output\n');
  return { outdir, marker };
}

function failureOf(run: () => unknown): SynthFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof SynthFailure) return error;
    throw error;
  }
  throw new Error('synth did not fail');
}

describe('output is never lost silently', () => {
  test('two solutions with the same name stop synth and the output stays as it was', () => {
    const { outdir, marker } = existingOutput();
    const renamed = variant(realEstateSolution, (d) => ({ ...d, name: 'logistics' }));
    const failure = failureOf(() => synthesize(outdir, { solutions: [logisticsSolution as unknown as Solution<AppTierSettings>, renamed], platform: null }));
    expect(failure.problems).toContain('logistics: solution name must be unique, but 2 solutions are named "logistics" (each writes dist/logistics/)');
    expect(readFileSync(marker, 'utf8')).toBe('the last good output\n');
  });

  test('an environment key that is not a DNS label stops synth', () => {
    const { outdir, marker } = existingOutput();
    const bad = variant(logisticsSolution, (d) => ({ ...d, environments: { ...d.environments, Prod_2: d.environments.prod } }));
    const failure = failureOf(() => synthesize(outdir, { solutions: [bad], platform: null }));
    expect(failure.problems.join('\n')).toMatch(/^logistics: environment must be a DNS label .* but "Prod_2" was provided$/m);
    expect(readFileSync(marker, 'utf8')).toBe('the last good output\n');
  });

  test('a namespace or an Ingress host claimed by two environments stops synth, naming both', () => {
    const { outdir } = existingOutput();
    const clash = variant(logisticsSolution, (d) => ({
      ...d,
      environments: { ...d.environments, clash: { ...d.environments.prod, namespace: 'logistics-prod' } },
    }));
    const problems = failureOf(() => synthesize(outdir, { solutions: [clash], platform: null })).problems;
    expect(problems).toContain('logistics/clash: namespace must be unique across environments and solutions but "logistics-prod" was provided, which logistics/prod uses already');
    const host = logisticsSolution.definition.environments.prod.ingress?.hosts?.[0] ?? logisticsSolution.definition.defaults.ingress?.hosts[0];
    expect(problems).toContain(`logistics/clash: ingress.hosts must be unique across environments and solutions but ${JSON.stringify(host)} was provided, which logistics/prod uses already`);
  });

  test('a solution named like the platform folder, or an environment in a platform namespace, stops synth', () => {
    const { outdir } = existingOutput();
    const named = variant(logisticsSolution, (d) => ({ ...d, name: PLATFORM_FOLDER }));
    expect(failureOf(() => synthesize(outdir, { solutions: [named] })).problems)
      .toContain(`${PLATFORM_FOLDER}: solution name must not be "${PLATFORM_FOLDER}", which dist/${PLATFORM_FOLDER}/ holds`);
    const inLogging = variant(logisticsSolution, (d) => ({ ...d, environments: { ...d.environments, dev: { ...d.environments.dev, namespace: 'logging' } } }));
    expect(failureOf(() => synthesize(outdir, { solutions: [inLogging] })).problems)
      .toContain('logistics/dev: namespace must be unique across environments and the platform but "logging" was provided, which the platform uses');
  });

  test('problems of several environments are reported together', () => {
    const { outdir } = existingOutput();
    const twoBad = variant(logisticsSolution, (d) => ({
      ...d,
      environments: {
        ...d.environments,
        dev: { ...d.environments.dev, api: { ...d.environments.dev.api, image: { repository: 'registry.example.com/logistics/api', tag: 'latest' } } },
        test: { ...d.environments.test, api: { ...d.environments.test.api, resources: { requests: { cpu: '2 cores', memory: '1Gi' }, limits: { cpu: '4', memory: '2Gi' } } } },
      },
    }));
    const problems = failureOf(() => synthesize(outdir, { solutions: [twoBad], platform: null })).problems;
    expect(problems.some((p) => p.startsWith('logistics/dev: api.image.tag must be'))).toBe(true);
    expect(problems.some((p) => p.startsWith('logistics/test: api.resources.requests.cpu must be'))).toBe(true);
  });

  test('the report names every environment written and every environment folder removed', () => {
    const { outdir } = existingOutput();
    mkdirSync(join(outdir, 'logistics', 'prdo'), { recursive: true });
    writeFileSync(join(outdir, 'logistics', 'prdo', '0000-namespace.k8s.yaml'), '{}\n');
    writeFileSync(join(outdir, 'logistics', 'prod', 'stray.yaml'), '{}\n');
    const report = synthesize(outdir, { solutions: [logisticsSolution as unknown as Solution<AppTierSettings>], platform: null, gitops: null });
    expect(report.written.map((w) => w.path)).toEqual(environmentsOf(logisticsSolution.definition).map((e) => `logistics/${e}`));
    for (const w of report.written) {
      // Every file of the folder (manifests, restore/, README.md) and every object in its YAML.
      const files = [...readTree(join(outdir, w.path)).entries()];
      expect(w.files).toBe(files.length);
      expect(w.objects).toBe(files.filter(([f]) => f.endsWith('.yaml')).reduce((n, [, text]) => n + text.split(/^---$/m).length, 0));
    }
    expect(report.removed).toEqual(['logistics/prdo/', 'logistics/prod/stray.yaml']);
    expect(existsSync(join(outdir, 'logistics', 'prdo'))).toBe(false);
  });
});
