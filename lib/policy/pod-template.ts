import { ContainerJson, isKind, ManifestObject, PodSpecJson, StringMap, TypeMeta } from './manifest';

/** The pods an object makes: their labels, annotations and spec. */
export interface PodTemplate {
  /** Labels of the pods (`template.metadata.labels`), which Services and NetworkPolicies select; empty when unset. */
  readonly labels: StringMap;
  /** Annotations of the pods (`template.metadata.annotations`); empty when unset. */
  readonly annotations: StringMap;
  /** The pod spec as rendered (for a CronJob, `spec.jobTemplate.spec.template.spec`). */
  readonly spec: PodSpecJson;
}

interface TemplateJson {
  readonly metadata?: { readonly labels?: StringMap; readonly annotations?: StringMap };
  readonly spec?: PodSpecJson;
}

/** Where each pod-owning kind keeps its pod template. */
const POD_OWNERS: readonly { readonly group: string; readonly kind: string; readonly template: (json: any) => TemplateJson | undefined }[] = [
  { group: 'apps', kind: 'Deployment', template: (j) => j.spec?.template },
  { group: 'apps', kind: 'StatefulSet', template: (j) => j.spec?.template },
  { group: 'apps', kind: 'DaemonSet', template: (j) => j.spec?.template },
  { group: 'apps', kind: 'ReplicaSet', template: (j) => j.spec?.template },
  { group: 'batch', kind: 'Job', template: (j) => j.spec?.template },
  { group: 'batch', kind: 'CronJob', template: (j) => j.spec?.jobTemplate?.spec?.template },
  { group: '', kind: 'Pod', template: (j) => ({ metadata: j.metadata, spec: j.spec }) },
  // Argo Rollouts: same pod template as a Deployment (a Rollout with `workloadRef` has none of its own).
  { group: 'argoproj.io', kind: 'Rollout', template: (j) => j.spec?.template },
];

/** Kinds that keep a number of identical pods running (`spec.replicas`). */
const REPLICATED: readonly { readonly group: string; readonly kind: string }[] = [
  { group: 'apps', kind: 'Deployment' },
  { group: 'apps', kind: 'StatefulSet' },
  { group: 'apps', kind: 'ReplicaSet' },
  { group: 'argoproj.io', kind: 'Rollout' },
];

/** Whether objects of this type own pods (and so have containers to check). */
export function isPodOwner(type: TypeMeta): boolean {
  return POD_OWNERS.some((o) => isKind(type, o.group, o.kind));
}

/** Deployments, StatefulSets, ReplicaSets and Rollouts. */
export function isReplicated(type: TypeMeta): boolean {
  return REPLICATED.some((o) => isKind(type, o.group, o.kind));
}

/** Replicated workloads, DaemonSets, and bare Pods (checked for their restart policy separately). */
export function mayBeLongRunning(type: TypeMeta): boolean {
  return isReplicated(type) || isKind(type, 'apps', 'DaemonSet') || isKind(type, '', 'Pod');
}

/** Pods that run until stopped: not Jobs or CronJobs, not bare Pods that are meant to finish. */
export function isLongRunning(object: ManifestObject): boolean {
  if (!mayBeLongRunning(object)) return false;
  if (!isKind(object, '', 'Pod')) return true;
  const restartPolicy = podTemplateOf(object)?.spec.restartPolicy;
  return restartPolicy === undefined || restartPolicy === 'Always';
}

/** The pod template of a pod-owning object, or undefined for other objects. */
export function podTemplateOf(object: ManifestObject): PodTemplate | undefined {
  const owner = POD_OWNERS.find((o) => isKind(object, o.group, o.kind));
  const template = owner?.template(object.json);
  if (!template?.spec) return undefined;
  return { labels: template.metadata?.labels ?? {}, annotations: template.metadata?.annotations ?? {}, spec: template.spec };
}

/** A container of a pod and whether it is an init container. */
export interface ContainerRef {
  /** The container as rendered in the pod spec. */
  readonly container: ContainerJson;
  /** True for an entry of `initContainers`, false for one of `containers`. */
  readonly init: boolean;
}

/** Init containers, then containers. */
export function allContainers(spec: PodSpecJson): ContainerRef[] {
  return [
    ...(spec.initContainers ?? []).map((container) => ({ container, init: true })),
    ...(spec.containers ?? []).map((container) => ({ container, init: false })),
  ];
}

/** The regular (not init) containers. */
export function mainContainers(spec: PodSpecJson): ContainerRef[] {
  return (spec.containers ?? []).map((container) => ({ container, init: false }));
}

/** `container "api"` or `initContainer "wait-for-db"`, for messages. */
export function containerLabel(ref: ContainerRef): string {
  return `${ref.init ? 'initContainer' : 'container'} "${ref.container.name}"`;
}
