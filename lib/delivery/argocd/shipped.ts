import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { groupOf } from '../../policy/manifest';

/** A kind of object an environment ships: what its AppProject lets through. */
export interface ShippedKind {
  /** API group: `''` for the core group, `apps`, `argoproj.io`. */
  readonly group: string;
  /** The kind, as in the manifests' `kind` (`Deployment`). */
  readonly kind: string;
}

/** One object by kind and name. */
export interface NamedKind extends ShippedKind {
  /** The object's `metadata.name`. */
  readonly name: string;
}

/** A workload whose replica count a HorizontalPodAutoscaler owns (its `scaleTargetRef`). */
export type AutoscaledTarget = NamedKind;

/** What Argo CD applies of one environment. */
export interface ShippedObjects {
  /** Every kind, each once, sorted by group then kind. */
  readonly kinds: readonly ShippedKind[];
  /** The cluster-scoped objects (the Namespace), sorted. */
  readonly clusterObjects: readonly NamedKind[];
  /** Every HPA's target, sorted. */
  readonly autoscaled: readonly AutoscaledTarget[];
}

/** The fields of a manifest read here. */
export interface ShippedManifest {
  /** `<group>/<version>`, or `<version>` for the core group: the group is what the AppProject lists. */
  readonly apiVersion: string;
  /** The object's kind. */
  readonly kind: string;
  /** Its metadata; {@link shippedOf} reads only `name` (of the cluster-scoped objects). */
  readonly metadata?: {
    /** The object's name. */
    readonly name?: string;
    /** The object's namespace; absent for cluster-scoped objects. */
    readonly namespace?: string;
    /** The object's annotations. */
    readonly annotations?: Readonly<Record<string, string>>;
  };
  /** Its spec; {@link shippedOf} reads only a HorizontalPodAutoscaler's (`scaleTargetRef`). */
  readonly spec?: unknown;
}

/**
 * The cluster-scoped kinds of Kubernetes 1.27 (`kubectl api-resources --namespaced=false`, less
 * the read-only review kinds): an AppProject lists them in `clusterResourceWhitelist`, every other
 * kind in `namespaceResourceWhitelist`. Custom resources shipped here are all namespaced.
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  '/Namespace', '/Node', '/PersistentVolume', '/ComponentStatus',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration', 'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy', 'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'apiextensions.k8s.io/CustomResourceDefinition', 'apiregistration.k8s.io/APIService',
  'certificates.k8s.io/CertificateSigningRequest', 'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration', 'networking.k8s.io/IngressClass',
  'node.k8s.io/RuntimeClass', 'rbac.authorization.k8s.io/ClusterRole', 'rbac.authorization.k8s.io/ClusterRoleBinding',
  'scheduling.k8s.io/PriorityClass', 'storage.k8s.io/CSIDriver', 'storage.k8s.io/CSINode', 'storage.k8s.io/StorageClass',
  'storage.k8s.io/VolumeAttachment',
]);

/** Whether `kind` is cluster-scoped ({@link CLUSTER_SCOPED_KINDS}): it goes in `clusterResourceWhitelist`. */
export function isClusterScoped(kind: ShippedKind): boolean {
  return CLUSTER_SCOPED_KINDS.has(`${kind.group}/${kind.kind}`);
}

/** The kinds and autoscaled workloads among `objects`. */
export function shippedOf(objects: readonly ShippedManifest[]): ShippedObjects {
  const kinds = new Map<string, ShippedKind>();
  const clusterObjects = new Map<string, NamedKind>();
  const autoscaled = new Map<string, AutoscaledTarget>();
  for (const object of objects) {
    const group = groupOf(object.apiVersion);
    const kind = { group, kind: object.kind };
    kinds.set(`${group}/${object.kind}`, kind);
    if (isClusterScoped(kind)) {
      const name = object.metadata?.name ?? '';
      clusterObjects.set(`${group}/${object.kind}/${name}`, { ...kind, name });
    }
    if (object.kind === 'HorizontalPodAutoscaler') {
      const target = (object.spec as { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } } | undefined)?.scaleTargetRef;
      if (target?.kind && target.name) {
        const t = { group: groupOf(target.apiVersion ?? ''), kind: target.kind, name: target.name };
        autoscaled.set(`${t.group}/${t.kind}/${t.name}`, t);
      }
    }
  }
  const byKey = (a: ShippedKind & { name?: string }, b: ShippedKind & { name?: string }) =>
    `${a.group}/${a.kind}/${a.name ?? ''}`.localeCompare(`${b.group}/${b.kind}/${b.name ?? ''}`);
  return {
    kinds: [...kinds.values()].sort(byKey),
    clusterObjects: [...clusterObjects.values()].sort(byKey),
    autoscaled: [...autoscaled.values()].sort(byKey),
  };
}

/**
 * What Argo CD applies from an environment's folder (`dist/<solution>/<environment>`): the YAML
 * files directly in it, as a directory source with `recurse: false` reads them (so not restore/).
 */
export function shippedIn(folder: string): ShippedObjects {
  const objects = readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
    .map((e) => e.name).sort()
    .flatMap((file) => parseAllDocuments(readFileSync(join(folder, file), 'utf8')).map((d) => d.toJS() as ShippedManifest))
    .filter((o) => o && typeof o === 'object' && o.kind);
  return shippedOf(objects);
}
