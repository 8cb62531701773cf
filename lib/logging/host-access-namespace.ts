import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { StandardLabels } from '../labels';
import { Validator } from '../validation';

/** Annotation on a namespace that enforces less than "restricted": why. */
export const POD_SECURITY_REASON_ANNOTATION = 'ai-platform.io/pod-security-reason';

/** Props of {@link HostAccessNamespace}. */
export interface HostAccessNamespaceProps {
  /** Name of the Namespace: a DNS label, not a reserved namespace (`kube-system`...). */
  readonly name: string;
  /** Why its pods need more than "restricted": written on the Namespace. */
  readonly reason: string;
}

/**
 * A namespace for a node agent alone: Pod Security "privileged" enforced, because "baseline"
 * already refuses every hostPath volume, while "restricted" is still audited and warned, so each
 * departure shows at apply time and in the audit log. What the agent may do is held to the least
 * by the policy engine's exemptions on its own workload, not by the namespace. A default-deny
 * NetworkPolicy, like every namespace.
 */
export class HostAccessNamespace extends Construct {
  /** The Namespace's name, checked. */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: HostAccessNamespaceProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    this.name = v.namespace('name', props.name);
    v.nonEmpty('reason', props.reason);
    const labels = new StandardLabels(this, { name: this.name, component: 'namespace' }).labels;
    new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: this.name,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/enforce-version': 'v1.27',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
        annotations: { [POD_SECURITY_REASON_ANNOTATION]: props.reason },
      },
    });
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny-all', namespace: this.name, labels: { ...labels } },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  }
}
