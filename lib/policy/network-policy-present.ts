import { LabelSelectorJson } from './manifest';
import { isPodOwner, podTemplateOf } from './pod-template';
import { PolicyRule } from './rule';
import { selectorMatches } from './selectors';

interface NetworkPolicySpecJson {
  readonly podSelector?: LabelSelectorJson;
  readonly policyTypes?: readonly string[];
  readonly egress?: readonly unknown[];
}

/**
 * A pod no NetworkPolicy selects accepts traffic from, and opens connections to, anything in the
 * cluster (kube-linter `non-isolated-pod`). Both directions count: an unrestricted egress is how a
 * compromised pod reaches the databases. The namespace's default-deny policy (empty podSelector)
 * isolates every pod; each Workload's own policy then opens what its connections need.
 */
export const networkPolicyPresent: PolicyRule = {
  id: 'network-policy-present',
  description: 'The pods of every pod-owning workload are selected by NetworkPolicies of their namespace that isolate both Ingress and Egress.',
  fix: 'Build the workload as a Workload (its NetworkPolicy is derived from connectTo()), or put it in an AppNamespace, whose default-deny policy selects every pod.',
  appliesTo: isPodOwner,
  check(object, inventory) {
    const template = podTemplateOf(object);
    if (!template) return [];
    const policies = inventory.inNamespace(object.namespace, 'networking.k8s.io', 'NetworkPolicy')
      .map((p) => p.field<NetworkPolicySpecJson>('spec') ?? {})
      .filter((spec) => selectorMatches(spec.podSelector, template.labels));
    const isolated = new Set(policies.flatMap((spec) => spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress'])));
    const open = ['Ingress', 'Egress'].filter((direction) => !isolated.has(direction));
    if (open.length === 0) return [];
    return [{
      message: policies.length === 0
        ? `is selected by no NetworkPolicy in namespace "${object.namespace || '(none)'}", so all traffic to and from its pods is allowed`
        : `is selected by no NetworkPolicy with policyType ${open.join(' or ')}, so that direction is unrestricted`,
    }];
  },
};
