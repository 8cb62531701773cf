import { ApiObject, Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { httpProbe } from '../../lib/probes';
import { Policies } from '../../lib/policy';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY } from '../../lib/validation';

// A compliant L1 workload that each test breaks in exactly one way.

const q = (value: string) => k8s.Quantity.fromString(value);

function container(overrides: Partial<k8s.Container> = {}): k8s.Container {
  return {
    name: 'app',
    image: 'registry.example.com/shop/app:1.4.2',
    ports: [{ name: 'http', containerPort: 8080 }],
    resources: { requests: { cpu: q('100m'), memory: q('128Mi') }, limits: { cpu: q('1'), memory: q('512Mi') } },
    livenessProbe: httpProbe('/health', 'http', { initialDelaySeconds: 30, periodSeconds: 10 }),
    readinessProbe: httpProbe('/ready', 'http', { initialDelaySeconds: 10, periodSeconds: 5 }),
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true },
    ...overrides,
  };
}

function labelsOf(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'shop' };
}

function podSpec(name: string, overrides: Partial<k8s.PodSpec> = {}): k8s.PodSpec {
  return {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labelsOf(name) } }],
    containers: [container()],
    ...overrides,
  };
}

interface DeploymentOptions {
  readonly replicas?: number;
  readonly pod?: Partial<k8s.PodSpec>;
  readonly container?: Partial<k8s.Container>;
}

function deployment(scope: Construct, name: string, options: DeploymentOptions = {}): k8s.KubeDeployment {
  return new k8s.KubeDeployment(scope, name, {
    metadata: { name },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: labelsOf(name) },
      template: {
        metadata: { labels: labelsOf(name) },
        spec: podSpec(name, { containers: [container(options.container)], ...options.pod }),
      },
    },
  });
}

/** What AppNamespace adds: every pod isolated both ways. */
function defaultDeny(scope: Construct): void {
  new k8s.KubeNetworkPolicy(scope, 'default-deny', { metadata: { name: 'default-deny-all' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
}

function chart(options: { environment?: string; production?: boolean; namespace?: string } = {}): Chart {
  const app = Testing.app();
  if (options.environment) app.node.setContext(ENVIRONMENT_CONTEXT_KEY, options.environment);
  if (options.production !== undefined) app.node.setContext(PRODUCTION_CONTEXT_KEY, options.production);
  const c = new Chart(app, 'shop', { namespace: options.namespace });
  defaultDeny(c);
  return c;
}

function violations(scope: Construct, ruleId?: string): string[] {
  return Policies.check(scope).filter((v) => !ruleId || v.ruleId === ruleId).map(String);
}

test('the compliant baseline breaks no rule', () => {
  const c = chart({ environment: 'prod' });
  deployment(c, 'web', { replicas: 3 });
  new k8s.KubePodDisruptionBudget(c, 'pdb', { metadata: { name: 'web' }, spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: labelsOf('web') } } });
  expect(violations(c)).toEqual([]);
});

describe('resources-set', () => {
  test('a container without a memory limit is named with the field to set', () => {
    const c = chart();
    deployment(c, 'web', { container: { resources: { requests: { cpu: q('100m'), memory: q('128Mi') }, limits: { cpu: q('1') } } } });
    expect(violations(c, 'resources-set')).toEqual([
      'Deployment web container "app": [resources-set] has no memory limit. Fix: set resources.limits.memory (construct prop "resources").',
    ]);
  });

  test('an init container without resources lists all four', () => {
    const c = chart();
    deployment(c, 'web', { pod: { initContainers: [container({ name: 'migrate', resources: undefined, livenessProbe: undefined, readinessProbe: undefined })] } });
    expect(violations(c, 'resources-set')).toEqual([
      'Deployment web initContainer "migrate": [resources-set] has no cpu request, memory request, cpu limit or memory limit. '
      + 'Fix: set resources.requests.cpu, resources.requests.memory, resources.limits.cpu and resources.limits.memory (construct prop "resources").',
    ]);
  });

  test.each([
    ['StatefulSet', (s: Construct, spec: k8s.PodSpec) => new k8s.KubeStatefulSet(s, 'w', { metadata: { name: 'w' }, spec: { serviceName: 'w', selector: { matchLabels: labelsOf('w') }, template: { metadata: { labels: labelsOf('w') }, spec } } })],
    ['DaemonSet', (s: Construct, spec: k8s.PodSpec) => new k8s.KubeDaemonSet(s, 'w', { metadata: { name: 'w' }, spec: { selector: { matchLabels: labelsOf('w') }, template: { metadata: { labels: labelsOf('w') }, spec } } })],
    ['ReplicaSet', (s: Construct, spec: k8s.PodSpec) => new k8s.KubeReplicaSet(s, 'w', { metadata: { name: 'w' }, spec: { selector: { matchLabels: labelsOf('w') }, template: { metadata: { labels: labelsOf('w') }, spec } } })],
    ['Job', (s: Construct, spec: k8s.PodSpec) => new k8s.KubeJob(s, 'w', { metadata: { name: 'w' }, spec: { template: { metadata: { labels: labelsOf('w') }, spec: { ...spec, restartPolicy: 'Never' } } } })],
    ['CronJob', (s: Construct, spec: k8s.PodSpec) => new k8s.KubeCronJob(s, 'w', { metadata: { name: 'w' }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { metadata: { labels: labelsOf('w') }, spec: { ...spec, restartPolicy: 'Never' } } } } } })],
    ['Pod', (s: Construct, spec: k8s.PodSpec) => new k8s.KubePod(s, 'w', { metadata: { name: 'w', labels: labelsOf('w') }, spec })],
    ['Rollout', (s: Construct, spec: k8s.PodSpec) => new ApiObject(s, 'w', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'w' }, spec: { selector: { matchLabels: labelsOf('w') }, template: { metadata: { labels: labelsOf('w') }, spec } } })],
  ])('the pod template of a %s is checked', (kind, make) => {
    const c = chart();
    make(c, podSpec('w', { containers: [container({ resources: { requests: { cpu: q('100m'), memory: q('128Mi') } } })] }));
    expect(violations(c)).toEqual([
      `${kind} w container "app": [resources-set] has no cpu limit or memory limit. Fix: set resources.limits.cpu and resources.limits.memory (construct prop "resources").`,
    ]);
  });
});

describe('probes-set', () => {
  test('a Deployment container without a readiness probe fires', () => {
    const c = chart();
    deployment(c, 'web', { container: { readinessProbe: undefined } });
    expect(violations(c, 'probes-set')).toEqual([
      expect.stringMatching(/^Deployment web container "app": \[probes-set\] has no readinessProbe\. Fix: add readinessProbe/),
    ]);
  });

  test('a StatefulSet container without probes fires for both', () => {
    const c = chart();
    new k8s.KubeStatefulSet(c, 'db', {
      metadata: { name: 'db' },
      spec: { serviceName: 'db', selector: { matchLabels: labelsOf('db') }, template: { metadata: { labels: labelsOf('db') }, spec: podSpec('db', { containers: [container({ livenessProbe: undefined, readinessProbe: undefined })] }) } },
    });
    expect(violations(c, 'probes-set')).toEqual([expect.stringContaining('StatefulSet db container "app": [probes-set] has no livenessProbe or readinessProbe.')]);
  });

  test('Jobs, CronJobs, init containers and run-to-completion Pods need no probes', () => {
    const c = chart();
    const noProbes = container({ livenessProbe: undefined, readinessProbe: undefined });
    new k8s.KubeJob(c, 'job', { metadata: { name: 'job' }, spec: { template: { metadata: { labels: labelsOf('job') }, spec: podSpec('job', { containers: [noProbes], restartPolicy: 'Never' }) } } });
    new k8s.KubeCronJob(c, 'cron', { metadata: { name: 'cron' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { metadata: { labels: labelsOf('cron') }, spec: podSpec('cron', { containers: [noProbes], restartPolicy: 'OnFailure' }) } } } } });
    new k8s.KubePod(c, 'once', { metadata: { name: 'once', labels: labelsOf('once') }, spec: podSpec('once', { containers: [noProbes], restartPolicy: 'Never' }) });
    deployment(c, 'web', { pod: { initContainers: [{ ...noProbes, name: 'init' }] } });
    expect(violations(c, 'probes-set')).toEqual([]);
  });
});

describe('image-pinned', () => {
  test.each([
    ['nginx', 'uses image "nginx" without a tag, which means latest'],
    ['nginx:latest', 'uses image "nginx:latest" whose tag "latest" moves to new releases'],
    ['registry.example.com:5000/shop/app', 'uses image "registry.example.com:5000/shop/app" without a tag, which means latest'],
  ])('%s fires', (image, message) => {
    const c = chart();
    deployment(c, 'web', { container: { image } });
    expect(violations(c, 'image-pinned')).toEqual([expect.stringContaining(`Deployment web container "app": [image-pinned] ${message}. Fix: use an image with a release tag`)]);
  });

  test('a container without an image fires', () => {
    const c = chart();
    deployment(c, 'web', { container: { image: undefined } });
    expect(violations(c, 'image-pinned')).toEqual([expect.stringContaining('Deployment web container "app": [image-pinned] has no image.')]);
  });

  test.each(['mysql:8.0.39', 'registry.example.com:5000/shop/app:1.4.2', `redis@sha256:${'a'.repeat(64)}`, `redis:7.2.4@sha256:${'b'.repeat(64)}`])('%s passes', (image) => {
    const c = chart();
    deployment(c, 'web', { container: { image } });
    expect(violations(c, 'image-pinned')).toEqual([]);
  });
});

describe('pod-security-restricted', () => {
  const secure = container().securityContext!;

  test.each<[string, k8s.SecurityContext, string]>([
    ['privileged', { ...secure, privileged: true }, 'runs privileged'],
    ['allowPrivilegeEscalation', { ...secure, allowPrivilegeEscalation: true }, 'sets allowPrivilegeEscalation true'],
    ['an unset allowPrivilegeEscalation', { ...secure, allowPrivilegeEscalation: undefined }, 'does not set allowPrivilegeEscalation false'],
    ['added capabilities', { ...secure, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } }, 'adds capabilities NET_ADMIN'],
    ['no drop ALL', { ...secure, capabilities: { drop: ['NET_RAW'] } }, 'does not drop ALL capabilities'],
    ['runAsNonRoot false on the container', { ...secure, runAsNonRoot: false }, 'sets runAsNonRoot false'],
    ['runAsUser 0', { ...secure, runAsUser: 0 }, 'runs as user 0 (root)'],
    ['seccomp Unconfined', { ...secure, seccompProfile: { type: 'Unconfined' } }, 'uses seccompProfile Unconfined'],
    ['procMount Unmasked', { ...secure, procMount: 'Unmasked' }, 'sets procMount Unmasked'],
  ])('%s fires', (_name, securityContext, message) => {
    const c = chart();
    deployment(c, 'web', { container: { securityContext } });
    expect(violations(c, 'pod-security-restricted')).toEqual([expect.stringContaining(`Deployment web container "app": [pod-security-restricted] ${message}. Fix: `)]);
  });

  test('a pod without runAsNonRoot, runAsUser and seccomp fires for each container, init containers included', () => {
    const c = chart();
    const bare = { ...secure, runAsNonRoot: undefined };
    deployment(c, 'web', { pod: { securityContext: {}, initContainers: [container({ name: 'init', securityContext: bare })] }, container: { securityContext: bare } });
    const found = violations(c, 'pod-security-restricted');
    for (const part of ['initContainer "init"', 'container "app"']) {
      expect(found).toContain(`Deployment web ${part}: [pod-security-restricted] does not set runAsNonRoot true (neither container nor pod securityContext). `
        + 'Fix: set securityContext.runAsNonRoot: true on the pod (Workload.podSpec() sets it) or the container.');
      expect(found).toContainEqual(expect.stringContaining(`Deployment web ${part}: [pod-security-restricted] sets no runAsUser`));
      expect(found).toContainEqual(expect.stringContaining(`Deployment web ${part}: [pod-security-restricted] has no seccompProfile`));
    }
    expect(found).toHaveLength(6);
  });

  test('a pod-level runAsNonRoot covers containers that do not set it', () => {
    const c = chart();
    deployment(c, 'web', { container: { securityContext: { ...secure, runAsNonRoot: undefined } } });
    expect(violations(c, 'pod-security-restricted')).toEqual([]);
  });

  test('volume types outside the restricted set, unsafe sysctls and AppArmor overrides fire', () => {
    const c = chart();
    new k8s.KubeDeployment(c, 'web', {
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: labelsOf('web') },
        template: {
          metadata: { labels: labelsOf('web'), annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' } },
          spec: podSpec('web', {
            securityContext: { ...podSpec('web').securityContext, sysctls: [{ name: 'kernel.msgmax', value: '65536' }] },
            volumes: [{ name: 'share', nfs: { server: 'nfs.example.com', path: '/export' } }, { name: 'tmp', emptyDir: {} }],
          }),
        },
      },
    });
    expect(violations(c, 'pod-security-restricted')).toEqual([
      expect.stringContaining('Deployment web: [pod-security-restricted] sets the unsafe sysctl kernel.msgmax.'),
      expect.stringContaining('Deployment web volume "share": [pod-security-restricted] is a nfs volume, which the restricted standard forbids.'),
      expect.stringContaining('Deployment web: [pod-security-restricted] sets the AppArmor profile "unconfined"'),
    ]);
  });
});

describe('read-only-root-fs', () => {
  test('a writable root file system fires', () => {
    const c = chart();
    deployment(c, 'web', { container: { securityContext: { ...container().securityContext, readOnlyRootFilesystem: false } } });
    expect(violations(c, 'read-only-root-fs')).toEqual([
      'Deployment web container "app": [read-only-root-fs] does not set readOnlyRootFilesystem true. '
      + 'Fix: set securityContext.readOnlyRootFilesystem: true (secureContainer() does) and mount an emptyDir at each path the process writes to.',
    ]);
  });
});

describe('no-host-access', () => {
  test('host namespaces, hostPath volumes and hostPorts fire', () => {
    const c = chart();
    deployment(c, 'agent', {
      pod: { hostNetwork: true, hostPid: true, hostIpc: true, volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }] },
      container: { ports: [{ name: 'http', containerPort: 8080, hostPort: 8080 }] },
    });
    expect(violations(c, 'no-host-access')).toEqual([
      'Deployment agent: [no-host-access] sets hostNetwork true. Fix: remove hostNetwork from the pod spec.',
      'Deployment agent: [no-host-access] sets hostPID true. Fix: remove hostPID from the pod spec.',
      'Deployment agent: [no-host-access] sets hostIPC true. Fix: remove hostIPC from the pod spec.',
      'Deployment agent volume "logs": [no-host-access] mounts a hostPath. Fix: use a persistentVolumeClaim, emptyDir, configMap or secret volume.',
      'Deployment agent container "app": [no-host-access] binds hostPort 8080 (containerPort 8080). Fix: remove hostPort and reach the container through a Service.',
    ]);
  });
});

describe('prod-ha', () => {
  test('in prod, three replicas without a PodDisruptionBudget or spread fire', () => {
    const c = chart({ environment: 'prod', production: true, namespace: 'shop-prod' });
    deployment(c, 'web', { replicas: 3, pod: { topologySpreadConstraints: undefined } });
    expect(violations(c, 'prod-ha')).toEqual([
      'Deployment shop-prod/web: [prod-ha] runs 3 replicas (spec.replicas) in production but no PodDisruptionBudget selects its pods. '
      + 'Fix: add a PodDisruptionBudget with maxUnavailable 1 selecting the pod labels (Workload.addDisruptionBudget()).',
      'Deployment shop-prod/web: [prod-ha] runs 3 replicas (spec.replicas) in production but has no topologySpreadConstraints or podAntiAffinity, so all replicas may share one node. '
      + 'Fix: spread the pods over kubernetes.io/hostname and topology.kubernetes.io/zone (Workload.podSpec({ spread: true })).',
    ]);
  });

  test.each(['dev', 'test', undefined])('the same workload passes in %s', (environment) => {
    const c = chart({ environment, namespace: 'shop' });
    deployment(c, 'web', { replicas: 3, pod: { topologySpreadConstraints: undefined } });
    expect(violations(c, 'prod-ha')).toEqual([]);
  });

  test('production is the environment\'s setting, not its name', () => {
    const production = chart({ environment: 'production', production: true, namespace: 'shop-production' });
    deployment(production, 'web', { replicas: 3, pod: { topologySpreadConstraints: undefined } });
    expect(violations(production, 'prod-ha')).toHaveLength(2);
    const namedProd = chart({ environment: 'prod', production: false, namespace: 'shop-prod' });
    deployment(namedProd, 'web', { replicas: 3, pod: { topologySpreadConstraints: undefined } });
    expect(violations(namedProd, 'prod-ha')).toEqual([]);
  });

  test('a single replica in prod needs neither', () => {
    const c = chart({ environment: 'prod', production: true });
    deployment(c, 'web', { replicas: 1, pod: { topologySpreadConstraints: undefined } });
    expect(violations(c, 'prod-ha')).toEqual([]);
  });

  test('an HPA minReplicas above one counts, and pod anti-affinity is as good as spread', () => {
    const c = chart({ environment: 'prod', production: true });
    deployment(c, 'web', {
      pod: {
        topologySpreadConstraints: undefined,
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labelsOf('web') } } }] } },
      },
    });
    new k8s.KubeHorizontalPodAutoscalerV2(c, 'hpa', { metadata: { name: 'web' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4 } });
    expect(violations(c, 'prod-ha')).toEqual([
      expect.stringContaining('Deployment web: [prod-ha] runs 2 replicas (HorizontalPodAutoscaler "web" minReplicas) in production but no PodDisruptionBudget selects its pods.'),
    ]);
  });

  test.each([
    [{ maxUnavailable: k8s.IntOrString.fromNumber(0) }, 'has maxUnavailable 0'],
    [{ maxUnavailable: k8s.IntOrString.fromString('0%') }, 'has maxUnavailable 0%'],
    [{ minAvailable: k8s.IntOrString.fromNumber(3) }, 'has minAvailable 3'],
    [{ minAvailable: k8s.IntOrString.fromString('100%') }, 'has minAvailable 100%'],
  ])('a PodDisruptionBudget that allows no disruption fires (%o)', (budget, message) => {
    const c = chart({ environment: 'prod', production: true });
    deployment(c, 'web', { replicas: 3 });
    new k8s.KubePodDisruptionBudget(c, 'pdb', { metadata: { name: 'web-pdb' }, spec: { ...budget, selector: { matchLabels: labelsOf('web') } } });
    expect(violations(c, 'prod-ha')).toEqual([
      `Deployment web: [prod-ha] runs 3 replicas (spec.replicas) in production and PodDisruptionBudget "web-pdb" ${message}, so no node can be drained. Fix: set maxUnavailable: 1 on PodDisruptionBudget "web-pdb".`,
    ]);
  });

  test('a PodDisruptionBudget selecting other pods does not count', () => {
    const c = chart({ environment: 'prod', production: true });
    deployment(c, 'web', { replicas: 2 });
    new k8s.KubePodDisruptionBudget(c, 'pdb', { metadata: { name: 'api' }, spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: labelsOf('api') } } });
    expect(violations(c, 'prod-ha')).toEqual([expect.stringContaining('no PodDisruptionBudget selects its pods')]);
  });
});

function service(scope: Construct, name: string, selector: Record<string, string>, targetPort: k8s.IntOrString, type?: string): k8s.KubeService {
  return new k8s.KubeService(scope, `svc-${name}`, { metadata: { name }, spec: { type, selector, ports: [{ name: 'http', port: 80, targetPort }] } });
}

describe('service-selects-pods', () => {
  test('a Service whose selector matches no pod template fires', () => {
    const c = chart({ namespace: 'shop' });
    deployment(c, 'web');
    service(c, 'web', labelsOf('wbe'), k8s.IntOrString.fromString('http'));
    expect(violations(c, 'service-selects-pods')).toEqual([
      'Service shop/web: [service-selects-pods] selects no pods: no workload in namespace "shop" has pod labels app.kubernetes.io/instance=shop, app.kubernetes.io/name=wbe. '
      + 'Fix: set the Service selector to the selector labels of the workload it fronts (Workload.labels.selectorLabels).',
    ]);
  });

  test('a targetPort name or number no selected container declares fires', () => {
    const c = chart();
    deployment(c, 'web');
    service(c, 'by-name', labelsOf('web'), k8s.IntOrString.fromString('metrics'));
    service(c, 'by-number', labelsOf('web'), k8s.IntOrString.fromNumber(9090));
    expect(violations(c, 'service-selects-pods')).toEqual([
      'Service by-name port "http": [service-selects-pods] targets port "metrics", which no container of Deployment web declares. '
      + 'Fix: declare a container port named "metrics" or change targetPort to one the container declares.',
      'Service by-number port "http": [service-selects-pods] targets port 9090, which no container of Deployment web declares. '
      + 'Fix: declare a container port 9090 or change targetPort to one the container declares.',
    ]);
  });

  test('a matching selector with a declared port (by name or number) passes, and ExternalName Services are skipped', () => {
    const c = chart();
    deployment(c, 'web');
    service(c, 'by-name', labelsOf('web'), k8s.IntOrString.fromString('http'));
    service(c, 'by-number', labelsOf('web'), k8s.IntOrString.fromNumber(8080));
    new k8s.KubeService(c, 'external', { metadata: { name: 'external' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
    expect(violations(c, 'service-selects-pods')).toEqual([]);
  });

  test('pods of another chart of the same App and namespace count; pods of another namespace do not', () => {
    const app = Testing.app();
    const data = new Chart(app, 'data', { namespace: 'shop' });
    const other = new Chart(app, 'other', { namespace: 'elsewhere' });
    const web = new Chart(app, 'app', { namespace: 'shop' });
    defaultDeny(data);
    defaultDeny(other);
    deployment(data, 'db');
    deployment(other, 'cache');
    service(web, 'db', labelsOf('db'), k8s.IntOrString.fromString('http'));
    service(web, 'cache', labelsOf('cache'), k8s.IntOrString.fromString('http'));
    expect(violations(app, 'service-selects-pods')).toEqual([expect.stringMatching(/^Service shop\/cache: \[service-selects-pods\] selects no pods/)]);
  });
});

describe('hpa-target-exists', () => {
  function hpa(scope: Construct, target: { apiVersion: string; kind: string; name: string }): void {
    new k8s.KubeHorizontalPodAutoscalerV2(scope, `hpa-${target.name}`, { metadata: { name: `hpa-${target.name}` }, spec: { scaleTargetRef: target, minReplicas: 1, maxReplicas: 3 } });
  }

  test('an HPA naming a Deployment that does not exist fires', () => {
    const c = chart({ namespace: 'shop' });
    deployment(c, 'web');
    hpa(c, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'wbe' });
    expect(violations(c, 'hpa-target-exists')).toEqual([
      'HorizontalPodAutoscaler shop/hpa-wbe: [hpa-target-exists] targets Deployment "wbe" (apps/v1), which does not exist in namespace "shop". '
      + 'Fix: create Deployment "wbe" in the same namespace or point scaleTargetRef at an existing workload.',
    ]);
  });

  test('an HPA targeting a kind that cannot scale fires', () => {
    const c = chart();
    deployment(c, 'web');
    hpa(c, { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'web' });
    expect(violations(c, 'hpa-target-exists')).toEqual([expect.stringContaining('HorizontalPodAutoscaler hpa-web: [hpa-target-exists] targets DaemonSet "web" (apps/v1), which is not a scalable workload.')]);
  });

  test('existing Deployments, StatefulSets and Rollouts pass, in any chart of the App', () => {
    const app = Testing.app();
    const data = new Chart(app, 'data', { namespace: 'shop' });
    const web = new Chart(app, 'app', { namespace: 'shop' });
    defaultDeny(data);
    deployment(data, 'web');
    new k8s.KubeStatefulSet(data, 'db', { metadata: { name: 'db' }, spec: { serviceName: 'db', selector: { matchLabels: labelsOf('db') }, template: { metadata: { labels: labelsOf('db') }, spec: podSpec('db') } } });
    new ApiObject(data, 'rollout', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'api' }, spec: { selector: { matchLabels: labelsOf('api') }, template: { metadata: { labels: labelsOf('api') }, spec: podSpec('api') } } });
    hpa(web, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    hpa(web, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' });
    hpa(web, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'api' });
    expect(violations(app)).toEqual([]);
  });
});

describe('no-secret-data', () => {
  test('a Secret with data or stringData fires, naming keys and never values', () => {
    const c = chart();
    new k8s.KubeSecret(c, 'secret', { metadata: { name: 'db' }, stringData: { password: 'hunter2' }, data: { user: 'YWRtaW4=' } });
    const found = violations(c, 'no-secret-data');
    expect(found).toEqual([
      'Secret db: [no-secret-data] carries the values of "password" and "user" in the manifest. '
      + 'Fix: create the Secret in the cluster or with a secret manager and reference its keys as { name, key }.',
    ]);
    expect(found.join('\n')).not.toMatch(/hunter2|YWRtaW4/);
  });

  test('a Secret without values passes', () => {
    const c = chart();
    new k8s.KubeSecret(c, 'secret', { metadata: { name: 'tls' }, type: 'kubernetes.io/tls' });
    expect(violations(c, 'no-secret-data')).toEqual([]);
  });
});

describe('no-credential-literals', () => {
  test.each([
    [{ name: 'DB_PASSWORD', value: 'hunter2' }, 'sets env DB_PASSWORD to a literal value'],
    [{ name: 'OPENAI_API_KEY', value: 'sk-123' }, 'sets env OPENAI_API_KEY to a literal value'],
    [{ name: 'jwt-secret', value: 'hunter2' }, 'sets env jwt-secret to a literal value'],
    [{ name: 'DATABASE_URL', value: 'mysql://app:hunter2@mysql:3306/app' }, 'sets env DATABASE_URL to a URL with a literal password'],
    [{ name: 'REDIS_URL', value: 'redis://:hunter2@redis:6379/0' }, 'sets env REDIS_URL to a URL with a literal password'],
  ])('%o fires without showing the value', (env, message) => {
    const c = chart();
    deployment(c, 'api', { container: { env: [env] } });
    const found = violations(c, 'no-credential-literals');
    expect(found).toEqual([expect.stringContaining(`Deployment api container "app": [no-credential-literals] ${message}. Fix: take ${env.name} from a Secret`)]);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  test.each([
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    { name: 'DB_PASSWORD_FILE', value: '/run/secrets/db/password' },
    { name: 'SECRET_NAME', value: 'db' },
    { name: 'TOKEN_TTL_SECONDS', value: '3600' },
    { name: 'MYSQL_ALLOW_EMPTY_PASSWORD', value: 'no' },
    { name: 'DATABASE_URL', value: 'postgres://app:$(DB_PASSWORD)@postgres:5432/app' },
    { name: 'DB_HOST', value: 'mysql' },
  ])('%o passes', (env) => {
    const c = chart();
    deployment(c, 'api', { container: { env: [env] } });
    expect(violations(c, 'no-credential-literals')).toEqual([]);
  });

  test('ConfigMaps: credential keys, properties files and URLs with passwords fire; settings pass', () => {
    const c = chart();
    new k8s.KubeConfigMap(c, 'env', { metadata: { name: 'app-env' }, data: { DB_HOST: 'mysql', API_KEY: 'sk-123', CACHE_URL: 'redis://user:hunter2@redis:6379' } });
    new k8s.KubeConfigMap(c, 'props', { metadata: { name: 'app-properties' }, data: { 'app.properties': 'app.name=shop\n# db.password=\ndb.password=hunter2\n' } });
    expect(violations(c, 'no-credential-literals')).toEqual([
      expect.stringContaining('ConfigMap app-env key "API_KEY": [no-credential-literals] holds a credential as a literal value.'),
      expect.stringContaining('ConfigMap app-env key "CACHE_URL": [no-credential-literals] holds a URL with a literal password.'),
      expect.stringContaining('ConfigMap app-properties key "app.properties": [no-credential-literals] sets db.password to literal values.'),
    ]);
  });
});

describe('sa-token-not-mounted', () => {
  test('a pod that mounts the token of an unbound ServiceAccount fires', () => {
    const c = chart({ namespace: 'shop' });
    deployment(c, 'web', { pod: { automountServiceAccountToken: undefined, serviceAccountName: 'web' } });
    new k8s.KubeServiceAccount(c, 'sa', { metadata: { name: 'web' } });
    expect(violations(c, 'sa-token-not-mounted')).toEqual([
      'Deployment shop/web: [sa-token-not-mounted] mounts the ServiceAccount token (automountServiceAccountToken is not false) but ServiceAccount "web" is bound to no Role or ClusterRole. '
      + 'Fix: set automountServiceAccountToken: false on the pod (Workload prop "automountServiceAccountToken"), or add a RoleBinding for the ServiceAccount if the pod calls the Kubernetes API.',
    ]);
  });

  test('the default ServiceAccount counts when the pod names none', () => {
    const c = chart();
    deployment(c, 'web', { pod: { automountServiceAccountToken: true } });
    expect(violations(c, 'sa-token-not-mounted')).toEqual([expect.stringContaining('sets automountServiceAccountToken true but ServiceAccount "default" is bound to no Role')]);
  });

  test('a ServiceAccount that does not automount, or one bound to a Role, passes', () => {
    const c = chart({ namespace: 'shop' });
    new k8s.KubeServiceAccount(c, 'quiet-sa', { metadata: { name: 'quiet' }, automountServiceAccountToken: false });
    deployment(c, 'quiet', { pod: { automountServiceAccountToken: undefined, serviceAccountName: 'quiet' } });
    new k8s.KubeServiceAccount(c, 'operator-sa', { metadata: { name: 'operator' } });
    new k8s.KubeRoleBinding(c, 'binding', {
      metadata: { name: 'operator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'operator' }],
    });
    deployment(c, 'operator', { pod: { automountServiceAccountToken: true, serviceAccountName: 'operator' } });
    expect(violations(c, 'sa-token-not-mounted')).toEqual([]);
  });
});

describe('network-policy-present', () => {
  test('a workload no NetworkPolicy selects fires', () => {
    const app = Testing.app();
    const c = new Chart(app, 'shop', { namespace: 'shop' });
    deployment(c, 'web');
    new k8s.KubeNetworkPolicy(c, 'other', { metadata: { name: 'api' }, spec: { podSelector: { matchLabels: labelsOf('api') }, policyTypes: ['Ingress', 'Egress'] } });
    expect(violations(c, 'network-policy-present')).toEqual([
      'Deployment shop/web: [network-policy-present] is selected by no NetworkPolicy in namespace "shop", so all traffic to and from its pods is allowed. '
      + 'Fix: build the workload as a Workload (its NetworkPolicy is derived from connectTo()), or put it in an AppNamespace, whose default-deny policy selects every pod.',
    ]);
  });

  test('a policy that isolates only ingress leaves egress open', () => {
    const app = Testing.app();
    const c = new Chart(app, 'shop');
    deployment(c, 'web');
    new k8s.KubeNetworkPolicy(c, 'web-np', { metadata: { name: 'web' }, spec: { podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['web'] }] } } });
    expect(violations(c, 'network-policy-present')).toEqual([
      expect.stringContaining('Deployment web: [network-policy-present] is selected by no NetworkPolicy with policyType Egress, so that direction is unrestricted.'),
    ]);
  });

  test('a namespace default-deny policy in another chart of the App selects every pod', () => {
    const app = Testing.app();
    defaultDeny(new Chart(app, 'namespace', { namespace: 'shop' }));
    deployment(new Chart(app, 'app', { namespace: 'shop' }), 'web');
    expect(violations(app, 'network-policy-present')).toEqual([]);
  });
});
