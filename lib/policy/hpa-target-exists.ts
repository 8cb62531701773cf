import { groupOf, isKind } from './manifest';
import { PolicyRule } from './rule';

/** Kinds with a scale subresource the platform scales, by API group. */
const SCALABLE: Readonly<Record<string, readonly string[]>> = {
  'apps': ['Deployment', 'StatefulSet', 'ReplicaSet'],
  'argoproj.io': ['Rollout'],
};

interface ScaleTargetRefJson {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
}

/**
 * An HPA whose target does not exist (a renamed Deployment, a Deployment replaced by a Rollout)
 * scales nothing and only reports `FailedGetScale` events (kube-linter
 * `dangling-horizontalpodautoscaler`). Targets are looked up in every chart of
 * the App, in the HPA's namespace.
 */
export const hpaTargetExists: PolicyRule = {
  id: 'hpa-target-exists',
  description: 'Every HorizontalPodAutoscaler\'s scaleTargetRef names a Deployment, StatefulSet, ReplicaSet or argoproj.io Rollout that exists in its namespace.',
  fix: 'Point scaleTargetRef at the workload\'s apiVersion, kind and name (Autoscaler prop "target").',
  appliesTo: (type) => isKind(type, 'autoscaling', 'HorizontalPodAutoscaler'),
  check(hpa, inventory) {
    const ref = hpa.field<{ scaleTargetRef?: ScaleTargetRefJson }>('spec')?.scaleTargetRef;
    if (!ref?.kind || !ref.name) {
      return [{ message: 'has no scaleTargetRef kind and name', fix: 'set spec.scaleTargetRef { apiVersion, kind, name }' }];
    }
    const group = groupOf(ref.apiVersion);
    const target = `${ref.kind} "${ref.name}" (${ref.apiVersion ?? 'no apiVersion'})`;
    if (!(SCALABLE[group] ?? []).includes(ref.kind)) {
      return [{
        message: `targets ${target}, which is not a scalable workload`,
        fix: 'target an apps/v1 Deployment, StatefulSet or ReplicaSet, or an argoproj.io/v1alpha1 Rollout',
      }];
    }
    if (inventory.find(hpa.namespace, group, ref.kind, ref.name)) return [];
    return [{
      message: `targets ${target}, which does not exist in namespace "${hpa.namespace || '(none)'}"`,
      fix: `create ${ref.kind} "${ref.name}" in the same namespace or point scaleTargetRef at an existing workload`,
    }];
  },
};
