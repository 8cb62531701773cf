import { Inventory } from './inventory';
import { ManifestObject } from './manifest';
import { isPodOwner, podTemplateOf } from './pod-template';
import { PolicyRule } from './rule';

interface SubjectJson {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/**
 * A mounted ServiceAccount token is a credential to the Kubernetes API that any code in the pod can
 * read; a pod that has no Role has no use for it (CIS Kubernetes Benchmark 5.1.6: mount
 * ServiceAccount tokens only where necessary). The ServiceAccount's own `automountServiceAccountToken: false` counts when the pod
 * does not override it.
 */
export const saTokenNotMounted: PolicyRule = {
  id: 'sa-token-not-mounted',
  description: 'Pods do not mount a ServiceAccount token (automountServiceAccountToken false on the pod, or on its ServiceAccount) '
    + 'unless a RoleBinding or ClusterRoleBinding binds that ServiceAccount to a role.',
  fix: 'Set automountServiceAccountToken: false on the pod (Workload prop "automountServiceAccountToken", default false), or bind the ServiceAccount to the Role it needs.',
  appliesTo: isPodOwner,
  check(object, inventory) {
    const template = podTemplateOf(object);
    if (!template) return [];
    const spec = template.spec;
    if (spec.automountServiceAccountToken === false) return [];
    const accountName = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
    const account = inventory.find(object.namespace, '', 'ServiceAccount', accountName);
    if (spec.automountServiceAccountToken === undefined && account?.field<boolean>('automountServiceAccountToken') === false) return [];
    if (isBound(object, accountName, inventory)) return [];
    const why = spec.automountServiceAccountToken === true ? 'sets automountServiceAccountToken true' : 'mounts the ServiceAccount token (automountServiceAccountToken is not false)';
    return [{
      message: `${why} but ServiceAccount "${accountName}" is bound to no Role or ClusterRole`,
      fix: 'set automountServiceAccountToken: false on the pod (Workload prop "automountServiceAccountToken"), or add a RoleBinding for the ServiceAccount if the pod calls the Kubernetes API',
    }];
  },
};

/** Whether a RoleBinding of the pod's namespace or a ClusterRoleBinding names the ServiceAccount. */
function isBound(pod: ManifestObject, accountName: string, inventory: Inventory): boolean {
  const names = (subject: SubjectJson, defaultNamespace: string | undefined) =>
    subject.kind === 'ServiceAccount' && subject.name === accountName && (subject.namespace ?? defaultNamespace) === pod.namespace;
  const roleBindings = inventory.inNamespace(pod.namespace, 'rbac.authorization.k8s.io', 'RoleBinding');
  const clusterBindings = inventory.ofKind('rbac.authorization.k8s.io', 'ClusterRoleBinding');
  // A RoleBinding's ServiceAccount subject without a namespace means the binding's own namespace.
  return roleBindings.some((b) => (b.field<SubjectJson[]>('subjects') ?? []).some((s) => names(s, b.namespace)))
    || clusterBindings.some((b) => (b.field<SubjectJson[]>('subjects') ?? []).some((s) => names(s, undefined)));
}
