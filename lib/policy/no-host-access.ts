import { allContainers, containerLabel, isPodOwner, podTemplateOf } from './pod-template';
import { Finding, PolicyRule } from './rule';

/**
 * Host namespaces, host paths and host ports break the isolation between a pod and its node: a
 * compromised pod sees the node's processes, network or files (Pod Security "baseline",
 * kube-linter `host-network`/`host-pid`/`host-ipc`/`sensitive-host-mounts`, Polaris `hostPortSet`).
 */
export const noHostAccess: PolicyRule = {
  id: 'no-host-access',
  description: 'No pod uses hostNetwork, hostPID or hostIPC, a hostPath volume or a container hostPort.',
  fix: 'Remove hostNetwork/hostPID/hostIPC, use persistentVolumeClaim or emptyDir volumes, and expose ports through a Service.',
  appliesTo: isPodOwner,
  check(object) {
    const template = podTemplateOf(object);
    if (!template) return [];
    const spec = template.spec;
    const findings: Finding[] = [];
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (spec[field] === true) findings.push({ message: `sets ${field} true`, fix: `remove ${field} from the pod spec` });
    }
    for (const volume of spec.volumes ?? []) {
      if (volume.hostPath !== undefined) {
        findings.push({ part: `volume "${volume.name}"`, message: 'mounts a hostPath', fix: 'use a persistentVolumeClaim, emptyDir, configMap or secret volume' });
      }
    }
    for (const ref of allContainers(spec)) {
      for (const port of ref.container.ports ?? []) {
        if (port.hostPort) {
          findings.push({
            part: containerLabel(ref),
            message: `binds hostPort ${port.hostPort} (containerPort ${port.containerPort})`,
            fix: 'remove hostPort and reach the container through a Service',
          });
        }
      }
    }
    return findings;
  },
};
