import { SecurityContextJson } from './manifest';
import { allContainers, containerLabel, ContainerRef, isPodOwner, podTemplateOf, PodTemplate } from './pod-template';
import { Finding, PolicyRule } from './rule';

/** Volume sources the "restricted" standard allows (hostPath is reported by `no-host-access`). */
const RESTRICTED_VOLUME_SOURCES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
/** Sysctls the "baseline" standard of Kubernetes 1.27 allows. */
const SAFE_SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range'];
const SELINUX_TYPES = ['container_t', 'container_init_t', 'container_kvm_t'];
const SECCOMP_TYPES = ['RuntimeDefault', 'Localhost'];
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

const SECURE_CONTAINER = 'secureContainer() from lib/container.ts sets it';
const WORKLOAD_POD_SPEC = 'Workload.podSpec() sets it';

/**
 * The Pod Security Standard "restricted" (Kubernetes 1.27), which every namespace of the platform
 * enforces: checking it at synth turns a pod the API server would refuse at apply time into an
 * error that names the construct. Host namespaces, hostPath and hostPort are `no-host-access`.
 */
export const podSecurityRestricted: PolicyRule = {
  id: 'pod-security-restricted',
  description: 'Pods meet the Pod Security Standard "restricted": not privileged, allowPrivilegeEscalation false, '
    + 'capabilities drop ALL and add none, runAsNonRoot true and an explicit non-zero runAsUser (pod or container), '
    + 'seccompProfile RuntimeDefault or Localhost, restricted volume types, no unsafe sysctls, SELinux, AppArmor, procMount or HostProcess overrides.',
  fix: 'Build containers with secureContainer() and pods with Workload.podSpec(), which meet the restricted standard.',
  appliesTo: isPodOwner,
  check(object) {
    const template = podTemplateOf(object);
    if (!template) return [];
    return [...podFindings(template), ...allContainers(template.spec).flatMap((ref) => containerFindings(ref, template))];
  },
};

/** A writable root file system lets an intruder drop tools and change binaries (kube-linter `no-read-only-root-fs`). */
export const readOnlyRootFs: PolicyRule = {
  id: 'read-only-root-fs',
  description: 'Every container and init container has readOnlyRootFilesystem true.',
  fix: 'Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes.',
  appliesTo: isPodOwner,
  check(object) {
    const template = podTemplateOf(object);
    if (!template) return [];
    return allContainers(template.spec)
      .filter((ref) => ref.container.securityContext?.readOnlyRootFilesystem !== true)
      .map((ref) => ({
        part: containerLabel(ref),
        message: 'does not set readOnlyRootFilesystem true',
        fix: 'set securityContext.readOnlyRootFilesystem: true (secureContainer() does) and mount an emptyDir at each path the process writes to',
      }));
  },
};

function podFindings(template: PodTemplate): Finding[] {
  const pod = template.spec.securityContext ?? {};
  const findings: Finding[] = [];
  if (pod.windowsOptions?.hostProcess === true) {
    findings.push({ message: 'runs as a Windows HostProcess pod', fix: 'remove securityContext.windowsOptions.hostProcess' });
  }
  for (const sysctl of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.includes(sysctl.name)) {
      findings.push({ message: `sets the unsafe sysctl ${sysctl.name}`, fix: `remove ${sysctl.name} from securityContext.sysctls` });
    }
  }
  findings.push(...seLinuxFindings(pod, 'pod securityContext'));
  for (const volume of template.spec.volumes ?? []) {
    const sources = Object.keys(volume).filter((k) => k !== 'name' && k !== 'hostPath');
    for (const source of sources.filter((s) => !RESTRICTED_VOLUME_SOURCES.includes(s))) {
      findings.push({
        part: `volume "${volume.name}"`,
        message: `is a ${source} volume, which the restricted standard forbids`,
        fix: `use one of ${RESTRICTED_VOLUME_SOURCES.join(', ')} (a persistentVolumeClaim for storage)`,
      });
    }
  }
  for (const [key, value] of Object.entries(template.annotations)) {
    if (key.startsWith(APPARMOR_ANNOTATION) && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      findings.push({ message: `sets the AppArmor profile "${value}" (annotation ${key})`, fix: 'use runtime/default or a localhost/ profile, or remove the annotation' });
    }
  }
  return findings;
}

function containerFindings(ref: ContainerRef, template: PodTemplate): Finding[] {
  const pod = template.spec.securityContext ?? {};
  const sc = ref.container.securityContext ?? {};
  const part = containerLabel(ref);
  const findings: Finding[] = [];
  const add = (message: string, fix: string) => findings.push({ part, message, fix });

  if (sc.privileged === true) add('runs privileged', 'remove securityContext.privileged');
  if (sc.allowPrivilegeEscalation !== false) {
    add(sc.allowPrivilegeEscalation === true ? 'sets allowPrivilegeEscalation true' : 'does not set allowPrivilegeEscalation false',
      `set securityContext.allowPrivilegeEscalation: false (${SECURE_CONTAINER})`);
  }
  const added = sc.capabilities?.add ?? [];
  if (added.length > 0) add(`adds capabilities ${added.join(', ')}`, 'remove securityContext.capabilities.add (bind ports >= 1024 instead of NET_BIND_SERVICE)');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) {
    add('does not drop ALL capabilities', `set securityContext.capabilities.drop: ["ALL"] (${SECURE_CONTAINER})`);
  }

  const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
  if (runAsNonRoot !== true) {
    add(runAsNonRoot === false ? 'sets runAsNonRoot false' : 'does not set runAsNonRoot true (neither container nor pod securityContext)',
      `set securityContext.runAsNonRoot: true on the pod (${WORKLOAD_POD_SPEC}) or the container`);
  }
  const runAsUser = sc.runAsUser ?? pod.runAsUser;
  if (runAsUser === 0) {
    add('runs as user 0 (root)', 'set securityContext.runAsUser to the image\'s non-root uid (Workload prop "runAsUser")');
  } else if (runAsUser === undefined) {
    // With runAsNonRoot alone the kubelet refuses images whose USER is a name, and root images fail only at start.
    add('sets no runAsUser (neither container nor pod securityContext)',
      `set securityContext.runAsUser to a non-zero uid on the pod (${WORKLOAD_POD_SPEC}, Workload prop "runAsUser")`);
  }
  const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (!seccomp || !SECCOMP_TYPES.includes(seccomp)) {
    add(seccomp ? `uses seccompProfile ${seccomp}` : 'has no seccompProfile (neither container nor pod securityContext)',
      `set securityContext.seccompProfile.type: RuntimeDefault on the pod (${WORKLOAD_POD_SPEC})`);
  }
  if (sc.procMount !== undefined && sc.procMount !== 'Default') add(`sets procMount ${sc.procMount}`, 'remove securityContext.procMount');
  if (sc.windowsOptions?.hostProcess === true) add('runs as a Windows HostProcess container', 'remove securityContext.windowsOptions.hostProcess');
  for (const f of seLinuxFindings(sc, 'securityContext')) add(f.message, f.fix ?? '');
  return findings;
}

function seLinuxFindings(sc: SecurityContextJson, where: string): Finding[] {
  const options = sc.seLinuxOptions;
  if (!options) return [];
  const findings: Finding[] = [];
  if (options.type !== undefined && options.type !== '' && !SELINUX_TYPES.includes(options.type)) {
    findings.push({ message: `sets the SELinux type ${options.type}`, fix: `use one of ${SELINUX_TYPES.join(', ')} in ${where}.seLinuxOptions.type or remove it` });
  }
  if (options.user) findings.push({ message: `sets the SELinux user ${options.user}`, fix: `remove ${where}.seLinuxOptions.user` });
  if (options.role) findings.push({ message: `sets the SELinux role ${options.role}`, fix: `remove ${where}.seLinuxOptions.role` });
  return findings;
}
