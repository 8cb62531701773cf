/** The synth path as users meet it: policies refuse insecure output, and the README documents every rule. */
import { k8s } from 'cdk8s-plus-27';
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { environmentsOf } from '../lib/config/solution-definition';
import { Policies } from '../lib/policy';
import { SOLUTIONS } from '../lib/solutions';
import { logisticsSolution } from '../lib/solutions/logistics';
import { buildEnvironment } from '../lib/solutions/solution';
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
    const exemptions = [...readTree(join(__dirname, '..', 'dist')).values()].filter((yaml) => /policy\.ai-platform\.io\/exempt-/.test(yaml));
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
