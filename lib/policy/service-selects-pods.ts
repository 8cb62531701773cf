import { isKind, StringMap } from './manifest';
import { mainContainers } from './pod-template';
import { Finding, listOf, PolicyRule } from './rule';
import { mapSelects, showLabels } from './selectors';

interface ServicePortJson {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number | string;
}

interface ServiceSpecJson {
  readonly type?: string;
  readonly selector?: StringMap;
  readonly ports?: readonly ServicePortJson[];
}

/**
 * A Service whose selector matches no pod, or whose targetPort no selected container declares, has
 * no endpoints: clients get connection refused and nothing says why (kube-linter
 * `dangling-service`). Pods are looked up in every chart of the App, in the Service's namespace.
 */
export const serviceSelectsPods: PolicyRule = {
  id: 'service-selects-pods',
  description: 'Every Service with a selector selects the pod template of at least one workload in its namespace, and each targetPort (name or number) is a port of those pods\' containers.',
  fix: 'Use the workload\'s selector labels as the Service selector and a targetPort the container declares (by name, e.g. "http").',
  appliesTo: (type) => isKind(type, '', 'Service'),
  check(service, inventory) {
    const spec = service.field<ServiceSpecJson>('spec') ?? {};
    const selector = spec.selector ?? {};
    // ExternalName Services and Services without a selector get their endpoints from elsewhere.
    if (spec.type === 'ExternalName' || Object.keys(selector).length === 0) return [];

    const selected = inventory.podTemplates(service.namespace).filter((p) => mapSelects(selector, p.template.labels));
    if (selected.length === 0) {
      return [{
        message: `selects no pods: no workload in namespace "${service.namespace || '(none)'}" has pod labels ${showLabels(selector)}`,
        fix: 'set the Service selector to the selector labels of the workload it fronts (Workload.labels.selectorLabels)',
      }];
    }
    const findings: Finding[] = [];
    for (const port of spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const lacking = selected.filter(({ template }) => !mainContainers(template.spec).some(({ container }) =>
        (container.ports ?? []).some((p) => (typeof target === 'string' ? p.name === target : p.containerPort === target))));
      if (lacking.length === 0) continue;
      const targetText = typeof target === 'string' ? `"${target}"` : `${target}`;
      findings.push({
        part: `port ${port.name ? `"${port.name}"` : port.port}`,
        message: `targets port ${targetText}, which no container of ${listOf(lacking.map((l) => l.owner.ref))} declares`,
        fix: `declare a container port ${typeof target === 'string' ? `named ${targetText}` : targetText} or change targetPort to one the container declares`,
      });
    }
    return findings;
  },
};
