import { containerLabel, isLongRunning, mainContainers, mayBeLongRunning, podTemplateOf } from './pod-template';
import { Finding, listOf, PolicyRule } from './rule';

/**
 * Without readiness a pod gets traffic before it can serve it and during a rollout the old pods go
 * before the new ones work; without liveness a hung process is never restarted. Jobs and init
 * containers run to completion, so they are not checked.
 */
export const probesSet: PolicyRule = {
  id: 'probes-set',
  description: 'Every container of a long-running workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Rollout, Pod with restartPolicy Always) has a liveness and a readiness probe.',
  fix: 'Add livenessProbe and readinessProbe to the container (httpProbe() or execProbe() from lib/probes.ts).',
  appliesTo: mayBeLongRunning,
  check(object) {
    const template = podTemplateOf(object);
    if (!template || !isLongRunning(object)) return [];
    const findings: Finding[] = [];
    for (const ref of mainContainers(template.spec)) {
      const missing = [
        ...(ref.container.livenessProbe ? [] : ['livenessProbe']),
        ...(ref.container.readinessProbe ? [] : ['readinessProbe']),
      ];
      if (missing.length === 0) continue;
      findings.push({
        part: containerLabel(ref),
        message: `has no ${listOf(missing, 'or')}`,
        fix: `add ${listOf(missing)} to the container (httpProbe() or execProbe() from lib/probes.ts)`,
      });
    }
    return findings;
  },
};
