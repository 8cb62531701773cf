import { RestoreChart } from '../../lib/backup/restore-chart';
/**
 * The objects of one solution environment, built in memory (nothing written), and helpers to
 * find objects and follow Services and NetworkPolicies, for the solution tests.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AppTierSettings } from '../../lib/config/app-tier-settings';
import { environmentsOf, namespaceOf, ResolvedEnvironment, resolveEnvironment } from '../../lib/config/solution-definition';
import { SOLUTIONS } from '../../lib/solutions';
import { buildEnvironment } from '../../lib/solutions/solution';
import { Endpoint, NetworkPolicy, NetworkPolicyEvaluator } from './network-policy-evaluator';

export type K8sObject = Record<string, any>;

export interface Environment {
  readonly solution: string;
  readonly environment: string;
  readonly namespace: string;
  /** Objects of every chart, in file order (namespace, data, app). */
  readonly objects: K8sObject[];
  /** Objects of the application chart only. */
  readonly app: K8sObject[];
}

export const outdir = mkdtempSync(join(tmpdir(), 'solutions-test-'));
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));

export const MATRIX: [string, string][] = SOLUTIONS.flatMap((s) => environmentsOf(s.definition).map((e): [string, string] => [s.definition.name, e]));
const built = new Map<string, Environment>();

/** The resolved configuration of one environment: what the tests compare the output with. */
export function resolvedOf(solution: string, environment: string): ResolvedEnvironment<AppTierSettings> {
  const found = SOLUTIONS.find((s) => s.definition.name === solution);
  if (!found) throw new Error(`no solution ${solution}`);
  return resolveEnvironment(found.definition, environment);
}

/** The settings of one environment, as the configuration resolves them. */
export function settingsOf(solution: string, environment: string): Readonly<Record<string, any>> {
  return resolvedOf(solution, environment).settings;
}

/** Builds one environment (once per test file) and returns its objects, without writing anything. */
export function env(solution: string, environment: string): Environment {
  const key = `${solution}/${environment}`;
  let result = built.get(key);
  if (!result) {
    const definition = SOLUTIONS.find((s) => s.definition.name === solution);
    if (!definition) throw new Error(`no solution ${solution}`);
    const app = buildEnvironment(definition, environment, outdir);
    result = {
      solution,
      environment,
      namespace: namespaceOf(resolvedOf(solution, environment)),
      // The environment's charts in file order, then the restore charts (dist/<s>/<e>/restore/).
      objects: [...app.charts.filter((c) => !RestoreChart.isRestoreChart(c)), ...app.charts.filter((c) => RestoreChart.isRestoreChart(c))].flatMap((chart) => chart.toJson()),
      app: app.appChart.toJson(),
    };
    built.set(key, result);
  }
  return result;
}

export function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}

export function maybe(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'];

/** The Deployment or, where the service is released progressively (prod), the Argo Rollout named `name`. */
export function workload(objects: K8sObject[], name: string): K8sObject {
  const found = objects.filter((o) => (o.kind === 'Deployment' || o.kind === 'Rollout') && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one Deployment or Rollout ${name}, found ${found.length}`);
  return found[0];
}

/** Pod templates of every workload kind, with the workload they belong to. */
export function podTemplates(objects: K8sObject[]): { owner: K8sObject; template: K8sObject }[] {
  return objects.filter((o) => WORKLOAD_KINDS.includes(o.kind)).map((owner) => ({ owner, template: owner.spec.template }));
}

export function isSubset(subset: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!subset || Object.keys(subset).length === 0) return false;
  return Object.entries(subset).every(([k, v]) => labels?.[k] === v);
}

/** The pod templates a Service sends traffic to. */
export function backendsOf(objects: K8sObject[], service: K8sObject): K8sObject[] {
  return podTemplates(objects).filter((p) => isSubset(service.spec.selector, p.template.metadata.labels)).map((p) => p.template);
}

/** The container port a Service port reaches (a named targetPort resolved in the pods behind it). */
export function containerPortOf(objects: K8sObject[], service: K8sObject, servicePort: number): number {
  const port = service.spec.ports.find((p: K8sObject) => p.port === servicePort);
  if (!port) throw new Error(`Service ${service.metadata.name} has no port ${servicePort}`);
  if (port.targetPort === undefined) return port.port;
  if (typeof port.targetPort === 'number') return port.targetPort;
  const numbers = new Set<number>();
  for (const template of backendsOf(objects, service)) {
    for (const c of template.spec.containers) {
      for (const p of c.ports ?? []) if (p.name === port.targetPort) numbers.add(p.containerPort);
    }
  }
  if (numbers.size !== 1) throw new Error(`Service ${service.metadata.name} port ${servicePort} targets "${port.targetPort}", found container ports [${[...numbers]}]`);
  return [...numbers][0];
}

/** A pod template of the environment, or an actor outside it, as the NetworkPolicy evaluator sees it. */
function endpointOf(objects: K8sObject[], pod: K8sObject | Endpoint): Endpoint {
  if ('id' in pod) return pod as Endpoint;
  const namespace = all(objects, 'NetworkPolicy')[0]?.metadata.namespace ?? '';
  return { id: pod.metadata.labels['app.kubernetes.io/name'], namespace, labels: pod.metadata.labels, ports: [] };
}

/**
 * Why the environment's NetworkPolicies refuse a connection from `client` to pods of `server` on
 * `port` (empty when they allow it), as test/support/network-policy-evaluator.ts evaluates them.
 */
export function connectionAllowed(objects: K8sObject[], client: K8sObject | Endpoint, server: K8sObject, port: number): string[] {
  const evaluator = new NetworkPolicyEvaluator(all(objects, 'NetworkPolicy') as NetworkPolicy[]);
  const from = endpointOf(objects, client);
  const to = endpointOf(objects, server);
  return evaluator.allows(from, to, port) ? [] : [`the NetworkPolicies refuse ${from.id} -> ${to.id}:${port}`];
}

/** The Service an in-cluster host names: `svc`, `svc.<namespace>`, `svc.<namespace>.svc[.cluster.local]`. */
export function inClusterService(host: string, namespace: string): string | undefined {
  const match = new RegExp(`^([a-z0-9-]+)(\\.${namespace}(\\.svc(\\.cluster\\.local)?)?)?$`).exec(host);
  return match ? match[1] : undefined;
}

/** The content-hashed app ConfigMap `<prefix>-<hash>` (exactly one). */
export function hashedConfigMap(objects: K8sObject[], prefix: string): K8sObject {
  const found = objects.filter((o) => o.kind === 'ConfigMap' && new RegExp(`^${prefix}-[0-9a-f]{10}$`).test(o.metadata.name));
  if (found.length !== 1) throw new Error(`expected one ConfigMap ${prefix}-<hash>, found ${found.map((o) => o.metadata.name).join(', ') || 'none'}`);
  return found[0];
}
export const envConfigMap = (e: Environment) => hashedConfigMap(e.app, 'app-config-env');
export const properties = (e: Environment): string[] => hashedConfigMap(e.app, 'app-config-properties').data['app.properties'].split('\n');
export const apiContainer = (e: Environment) => workload(e.app, 'api').spec.template.spec.containers[0];
export const gpuOf = (container: K8sObject) => [container.resources.requests?.['nvidia.com/gpu'], container.resources.limits?.['nvidia.com/gpu']];
export const modelDeployments = (e: Environment) => e.app.filter((d) => (d.kind === 'Deployment' || d.kind === 'Rollout') && d.metadata.labels['app.kubernetes.io/component'] === 'ai');
