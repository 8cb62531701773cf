/** The environment's namespace: Pod Security "restricted" and default-deny networking (lib/namespace.ts). */
import { Testing } from 'cdk8s';
import { AppNamespace, AppNamespaceProps, POD_SECURITY_LEVEL } from '../lib/namespace';

type K8sObject = Record<string, any>;

function synth(props: AppNamespaceProps): K8sObject[] {
  const chart = Testing.chart();
  new AppNamespace(chart, 'namespace', props);
  return Testing.synth(chart);
}

function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('AppNamespace', () => {
  test('makes the Namespace and a default-deny NetworkPolicy, nothing else', () => {
    expect(synth({ name: 'logistics-prod' }).map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`)).toEqual([
      'v1 Namespace/logistics-prod',
      'networking.k8s.io/v1 NetworkPolicy/default-deny-all',
    ]);
  });

  test('enforces, audits and warns Pod Security "restricted", pinned to the 1.27 rules', () => {
    const labels = only(synth({ name: 'logistics-prod' }), 'Namespace').metadata.labels;
    expect(POD_SECURITY_LEVEL).toBe('restricted');
    expect(labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.27',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });

  test('carries the standard labels and extra labels', () => {
    const labels = only(synth({ name: 'real-estate-dev', labels: { team: 'platform' } }), 'Namespace').metadata.labels;
    expect(labels).toMatchObject({
      'app.kubernetes.io/name': 'real-estate-dev',
      'app.kubernetes.io/component': 'namespace',
      'app.kubernetes.io/managed-by': 'cdk8s',
      team: 'platform',
    });
  });

  test('extra labels cannot weaken Pod Security', () => {
    const labels = only(synth({
      name: 'logistics-dev',
      labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'baseline' },
    }), 'Namespace').metadata.labels;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(labels['pod-security.kubernetes.io/warn']).toBe('restricted');
  });

  test('the default-deny policy selects every pod and denies both directions', () => {
    const policy = only(synth({ name: 'logistics-prod' }), 'NetworkPolicy');
    expect(policy.metadata.name).toBe('default-deny-all');
    expect(policy.metadata.namespace).toBe('logistics-prod');
    // An empty podSelector selects all pods; with both policy types and no rules nothing is allowed.
    expect(policy.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('the Namespace object itself has no namespace', () => {
    expect(only(synth({ name: 'logistics-prod' }), 'Namespace').metadata.namespace).toBeUndefined();
  });

  test.each(['Logistics Prod', 'logistics_prod', '', '-prod', 'a'.repeat(64)])('refuses the name %j', (name) => {
    expect(() => synth({ name })).toThrow(
      new RegExp(`^test: namespace\\.name must be a DNS label \\(.*\\) but ${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was provided$`),
    );
  });
});
