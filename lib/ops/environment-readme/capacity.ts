import { parseQuantity } from '../../quantity';

/** A rendered Kubernetes object, as `ApiObject.toJson()` returns it. */
export type Manifest = Record<string, any>;

/** The extended resource a pod asks for a GPU with (NVIDIA device plugin). */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** What one pod asks of a node: CPU in cores, memory in bytes, GPUs, as Kubernetes schedules it. */
export interface PodResources {
  readonly cpuRequest: number;
  readonly cpuLimit: number;
  readonly memoryRequest: number;
  readonly memoryLimit: number;
  readonly gpus: number;
}

/** A volume a pod owns: a StatefulSet claim template, or a generic ephemeral volume. */
export interface PodVolume {
  readonly name: string;
  readonly bytes: number;
  /** A generic ephemeral volume: it lives and dies with the pod. */
  readonly ephemeral: boolean;
}

/** Kinds that keep a counted number of pods running: their pods make the totals. */
export const LONG_RUNNING_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'Rollout'];
/** Pod-owning kinds the totals cannot count (a DaemonSet's pods follow the nodes): refused rather than left out. */
const UNCOUNTED_KINDS: readonly string[] = ['DaemonSet', 'ReplicaSet', 'ReplicationController', 'Pod'];
/** Kinds that run pods to completion: listed, but not in the totals. */
export const RUN_TO_COMPLETION_KINDS: readonly string[] = ['Job', 'CronJob'];

/** One long-running workload of the capacity table. */
export interface WorkloadCapacity {
  /** `app.kubernetes.io/name` of the object: the Workload construct's name. */
  readonly workload: string;
  readonly component: string;
  readonly kind: string;
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Set when a HorizontalPodAutoscaler scales the object. */
  readonly autoscaler?: string;
  readonly pod: PodResources;
  readonly volumes: readonly PodVolume[];
}

/** One Job or CronJob: what a run asks for while it runs. */
export interface RunCapacity {
  readonly workload: string;
  readonly kind: string;
  readonly name: string;
  /** The CronJob's schedule and time zone. @default - a Job runs once */
  readonly schedule?: string;
  /** Pods of one run at once (`parallelism`, 1 when unset). */
  readonly parallelism: number;
  readonly pod: PodResources;
  readonly volumes: readonly PodVolume[];
}

/** The environment's totals with every autoscaled workload at its minimum or at its maximum. */
export interface CapacityTotals {
  readonly pods: number;
  readonly cpuRequest: number;
  readonly cpuLimit: number;
  readonly memoryRequest: number;
  readonly memoryLimit: number;
  /** Bytes of every volume of every pod (claim templates and generic ephemeral volumes). */
  readonly storage: number;
  readonly gpus: number;
}

export interface Capacity {
  readonly workloads: readonly WorkloadCapacity[];
  readonly runs: readonly RunCapacity[];
  readonly minimum: CapacityTotals;
  readonly maximum: CapacityTotals;
}

type ResourceList = Record<string, unknown> | undefined;

function quantity(list: ResourceList, name: string): number {
  const value = list?.[name];
  if (value === undefined || value === null) return 0;
  const parsed = parseQuantity(String(value));
  if (Number.isNaN(parsed)) throw new Error(`capacity: ${name} quantity ${JSON.stringify(value)} is not a Kubernetes quantity`);
  return parsed;
}

/** GPUs are an extended resource: a limit alone is the request too. */
function gpus(container: Manifest): number {
  const r = container.resources ?? {};
  return quantity(r.limits, GPU_RESOURCE) || quantity(r.requests, GPU_RESOURCE);
}

/**
 * What Kubernetes reserves for one pod (the scheduler's effective request, and the pod's effective
 * limit): the larger of the app containers' sum and the largest init container, where sidecars
 * (init containers with `restartPolicy: Always`) run beside everything started after them, so
 * they add to the app containers and to every later init container. Pod overhead is not set here.
 */
export function podResources(spec: Manifest): PodResources {
  const measures: Record<keyof PodResources, (c: Manifest) => number> = {
    cpuRequest: (c) => quantity(c.resources?.requests, 'cpu'),
    cpuLimit: (c) => quantity(c.resources?.limits, 'cpu'),
    memoryRequest: (c) => quantity(c.resources?.requests, 'memory'),
    memoryLimit: (c) => quantity(c.resources?.limits, 'memory'),
    gpus,
  };
  const effective = (measure: (c: Manifest) => number): number => {
    let running = 0;
    for (const c of spec.containers ?? []) running += measure(c);
    let sidecars = 0;
    let initPeak = 0;
    for (const c of spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        sidecars += measure(c);
        running += measure(c);
        initPeak = Math.max(initPeak, sidecars);
      } else {
        initPeak = Math.max(initPeak, measure(c) + sidecars);
      }
    }
    return Math.max(running, initPeak);
  };
  return {
    cpuRequest: effective(measures.cpuRequest),
    cpuLimit: effective(measures.cpuLimit),
    memoryRequest: effective(measures.memoryRequest),
    memoryLimit: effective(measures.memoryLimit),
    gpus: effective(measures.gpus),
  };
}

/** Volumes the pods of `object` own: its claim templates, then the pod's generic ephemeral volumes. */
export function podVolumes(object: Manifest, podSpec: Manifest): PodVolume[] {
  const claims = (object.kind === 'StatefulSet' ? object.spec?.volumeClaimTemplates ?? [] : []).map((t: Manifest): PodVolume => ({
    name: t.metadata?.name ?? 'unnamed',
    bytes: quantity(t.spec?.resources?.requests, 'storage'),
    ephemeral: false,
  }));
  const ephemeral = (podSpec.volumes ?? []).filter((v: Manifest) => v.ephemeral?.volumeClaimTemplate).map((v: Manifest): PodVolume => ({
    name: v.name,
    bytes: quantity(v.ephemeral.volumeClaimTemplate.spec?.resources?.requests, 'storage'),
    ephemeral: true,
  }));
  return [...claims, ...ephemeral];
}

/** The pod template spec of a workload, a Job or a CronJob. */
export function podSpecOf(object: Manifest): Manifest {
  if (object.kind === 'CronJob') return object.spec?.jobTemplate?.spec?.template?.spec ?? {};
  return object.spec?.template?.spec ?? {};
}

const nameOf = (o: Manifest): string => o.metadata?.labels?.['app.kubernetes.io/name'] ?? o.metadata?.name;
const componentOf = (o: Manifest): string => o.metadata?.labels?.['app.kubernetes.io/component'] ?? 'other';

/**
 * The capacity of an environment from its rendered manifests: every long-running workload with its
 * replicas (an HPA's min and max where one targets it, else `spec.replicas`, 1 when unset as
 * Kubernetes defaults it), per-pod resources and volumes, and the totals at minimum and maximum
 * scale; Jobs and CronJobs separately, per run, outside the totals.
 */
export function capacityOf(objects: readonly Manifest[]): Capacity {
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  const workloads: WorkloadCapacity[] = [];
  const runs: RunCapacity[] = [];
  for (const object of objects) {
    if (LONG_RUNNING_KINDS.includes(object.kind)) {
      const spec = podSpecOf(object);
      const hpa = hpas.find((h) => h.spec?.scaleTargetRef?.kind === object.kind && h.spec?.scaleTargetRef?.name === object.metadata?.name);
      const fixed = object.spec?.replicas ?? 1;
      workloads.push({
        workload: nameOf(object),
        component: componentOf(object),
        kind: object.kind,
        name: object.metadata?.name,
        minReplicas: hpa ? (hpa.spec.minReplicas ?? 1) : fixed,
        maxReplicas: hpa ? hpa.spec.maxReplicas : fixed,
        autoscaler: hpa?.metadata?.name,
        pod: podResources(spec),
        volumes: podVolumes(object, spec),
      });
    } else if (UNCOUNTED_KINDS.includes(object.kind)) {
      throw new Error(`capacity: ${object.kind} ${object.metadata?.name} has pods the capacity table cannot count; own them with a Deployment, StatefulSet or Rollout`);
    } else if (RUN_TO_COMPLETION_KINDS.includes(object.kind)) {
      const spec = podSpecOf(object);
      const jobSpec = object.kind === 'CronJob' ? object.spec?.jobTemplate?.spec : object.spec;
      runs.push({
        workload: nameOf(object),
        kind: object.kind,
        name: object.metadata?.name,
        schedule: object.kind === 'CronJob' ? `${object.spec?.schedule}${object.spec?.timeZone ? ` (${object.spec.timeZone})` : ''}` : undefined,
        parallelism: jobSpec?.parallelism ?? 1,
        pod: podResources(spec),
        volumes: podVolumes(object, spec),
      });
    }
  }
  const total = (replicas: (w: WorkloadCapacity) => number): CapacityTotals => {
    const sum = (f: (w: WorkloadCapacity) => number) => workloads.reduce((acc, w) => acc + replicas(w) * f(w), 0);
    return {
      pods: sum(() => 1),
      cpuRequest: sum((w) => w.pod.cpuRequest),
      cpuLimit: sum((w) => w.pod.cpuLimit),
      memoryRequest: sum((w) => w.pod.memoryRequest),
      memoryLimit: sum((w) => w.pod.memoryLimit),
      storage: sum((w) => w.volumes.reduce((acc, v) => acc + v.bytes, 0)),
      gpus: sum((w) => w.pod.gpus),
    };
  };
  return { workloads, runs, minimum: total((w) => w.minReplicas), maximum: total((w) => w.maxReplicas) };
}
