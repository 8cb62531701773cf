/**
 * Scraping over the whole matrix: every app service (API, model services) has a PodMonitor on its
 * own container port named `http` at /metrics, the web tier (nginx, no Prometheus endpoint) has
 * none; every PodMonitor's port names a container port of the pods it selects; every monitoring
 * object carries the discovery labels; the monitoring namespace's Prometheus may reach the metrics
 * ports and nothing it would not reach as any other pod.
 */
import { APP_METRICS_PATH } from '../../lib/observability/http-metrics';
import { DEFAULT_MONITORING } from '../../lib/observability/monitoring-settings';
import { Endpoint } from '../support/network-policy-evaluator';
import { all, connectionAllowed, env, isSubset, K8sObject, MATRIX, podTemplates, settingsOf } from '../support/solution-objects';

const MONITORING_KINDS = ['PodMonitor', 'ServiceMonitor', 'PrometheusRule', 'AlertmanagerConfig'];

function monitoringNamespace(solution: string, environment: string): string {
  return settingsOf(solution, environment).monitoring?.namespace ?? DEFAULT_MONITORING.namespace;
}

/** A pod of the monitoring namespace: Prometheus itself, or another (Grafana). */
function monitoringPod(namespace: string, name: string): Endpoint {
  return { id: `monitoring/${name}`, namespace, labels: { 'app.kubernetes.io/name': name }, ports: [] };
}

/** The pod templates a PodMonitor selects. */
function selectedBy(objects: K8sObject[], monitor: K8sObject): { owner: K8sObject; template: K8sObject }[] {
  return podTemplates(objects).filter((p) => isSubset(monitor.spec.selector.matchLabels, p.template.metadata.labels));
}

const containerPorts = (template: K8sObject): { name?: string; containerPort: number }[] =>
  template.spec.containers.flatMap((c: K8sObject) => c.ports ?? []);

describe('app metrics endpoints over the matrix', () => {
  test.each(MATRIX)('%s/%s: the API and every model service are scraped at /metrics on port http; the web tier is not', (solution, environment) => {
    const e = env(solution, environment);
    const monitors = all(e.objects, 'PodMonitor');
    const scraped = (name: string) => monitors.filter((m) => m.spec.selector.matchLabels['app.kubernetes.io/name'] === name);
    const apps = e.app.filter((d) => d.kind === 'Deployment' || d.kind === 'Rollout').filter((d) => ['api', 'ai'].includes(d.metadata.labels['app.kubernetes.io/component']));
    expect(apps.length).toBeGreaterThan(1);
    for (const d of apps) {
      const found = scraped(d.metadata.name);
      expect({ name: d.metadata.name, endpoints: found.flatMap((m) => m.spec.podMetricsEndpoints) }).toEqual({ name: d.metadata.name, endpoints: [{ port: 'http', path: APP_METRICS_PATH }] });
      expect(found[0].spec.podTargetLabels).toEqual(['rollouts-pod-template-hash']);
      expect(found[0].spec.jobLabel).toBe('app.kubernetes.io/name');
    }
    for (const web of e.app.filter((d) => d.kind === 'Deployment' || d.kind === 'Rollout').filter((d) => d.metadata.labels['app.kubernetes.io/component'] === 'web')) {
      expect(monitors.filter((m) => isSubset(m.spec.selector.matchLabels, web.spec.template.metadata.labels))).toEqual([]);
    }
  });

  test.each(MATRIX)('%s/%s: every PodMonitor endpoint names a container port of every pod it selects', (solution, environment) => {
    const e = env(solution, environment);
    const problems: string[] = [];
    for (const monitor of all(e.objects, 'PodMonitor')) {
      const pods = selectedBy(e.objects, monitor);
      if (pods.length === 0) problems.push(`${monitor.metadata.name} selects no pods`);
      for (const endpoint of monitor.spec.podMetricsEndpoints) {
        for (const p of pods) {
          if (!containerPorts(p.template).some((port) => port.name === endpoint.port)) problems.push(`${monitor.metadata.name}: ${p.owner.metadata.name} has no container port ${endpoint.port}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test.each(MATRIX)('%s/%s: every monitoring object carries the discovery labels', (solution, environment) => {
    const discovery = settingsOf(solution, environment).monitoring?.discoveryLabels ?? DEFAULT_MONITORING.discoveryLabels;
    const objects = env(solution, environment).objects.filter((o) => MONITORING_KINDS.includes(o.kind));
    expect(objects.length).toBeGreaterThan(0);
    const unlabelled = objects.filter((o) => !isSubset(discovery, o.metadata.labels)).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(unlabelled).toEqual([]);
  });

  test.each(MATRIX)('%s/%s: Prometheus reaches every metrics port; the monitoring namespace reaches nothing else it is not open to anyway', (solution, environment) => {
    const e = env(solution, environment);
    const namespace = monitoringNamespace(solution, environment);
    const prometheus = monitoringPod(namespace, 'prometheus');
    const grafana = monitoringPod(namespace, 'grafana');
    const problems: string[] = [];
    const metricsPorts = new Map<K8sObject, Set<number>>();
    for (const monitor of all(e.objects, 'PodMonitor')) {
      for (const p of selectedBy(e.objects, monitor)) {
        for (const endpoint of monitor.spec.podMetricsEndpoints) {
          const port = containerPorts(p.template).find((c) => c.name === endpoint.port)?.containerPort;
          if (port === undefined) continue;
          if (!metricsPorts.has(p.template)) metricsPorts.set(p.template, new Set());
          metricsPorts.get(p.template)!.add(port);
          problems.push(...connectionAllowed(e.objects, prometheus, p.template, port));
        }
      }
    }
    for (const { owner, template } of podTemplates(e.objects)) {
      for (const { containerPort } of containerPorts(template)) {
        const byPrometheus = connectionAllowed(e.objects, prometheus, template, containerPort).length === 0;
        const byAnyPod = connectionAllowed(e.objects, grafana, template, containerPort).length === 0;
        if (byPrometheus && !byAnyPod && !metricsPorts.get(template)?.has(containerPort)) {
          problems.push(`prometheus reaches ${owner.metadata.name}:${containerPort}, which is no metrics port`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(metricsPorts.size).toBeGreaterThan(0);
  });
});
