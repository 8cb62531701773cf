import { allContainers, containerLabel, isPodOwner, podTemplateOf } from './pod-template';
import { Finding, listOf, PolicyRule } from './rule';

const FIELDS = [
  { side: 'requests', resource: 'cpu', label: 'cpu request' },
  { side: 'requests', resource: 'memory', label: 'memory request' },
  { side: 'limits', resource: 'cpu', label: 'cpu limit' },
  { side: 'limits', resource: 'memory', label: 'memory limit' },
] as const;

/**
 * Requests let the scheduler place the pod and the HPA compute utilisation; limits keep one pod
 * from starving its neighbours (kube-linter `unset-cpu-requirements`/`unset-memory-requirements`,
 * Polaris `cpuRequestsMissing` ... `memoryLimitsMissing`).
 */
export const resourcesSet: PolicyRule = {
  id: 'resources-set',
  description: 'Every container and init container sets CPU and memory requests and limits.',
  fix: 'Set resources.requests and resources.limits (cpu and memory) on the container (construct prop "resources").',
  appliesTo: isPodOwner,
  check(object) {
    const template = podTemplateOf(object);
    if (!template) return [];
    const findings: Finding[] = [];
    for (const ref of allContainers(template.spec)) {
      const resources = ref.container.resources ?? {};
      const missing = FIELDS.filter((f) => {
        const value = resources[f.side]?.[f.resource];
        return value === undefined || value === null || value === '';
      });
      if (missing.length === 0) continue;
      findings.push({
        part: containerLabel(ref),
        message: `has no ${listOf(missing.map((m) => m.label), 'or')}`,
        fix: `set ${listOf(missing.map((m) => `resources.${m.side}.${m.resource}`))} (construct prop "resources")`,
      });
    }
    return findings;
  },
};
