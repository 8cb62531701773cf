import { k8s } from 'cdk8s-plus-27';
import { KEEP_ON_PRUNE_ANNOTATIONS } from './data/storage';
import { Construct } from 'constructs';
import { StandardLabels } from './labels';
import { Validator } from './validation';

/** Settings of an environment's {@link AppNamespace}. */
export interface AppNamespaceProps {
  /** Name of the namespace: a DNS label, none of `default`, `kube-system`, `kube-public`, `kube-node-lease`. */
  readonly name: string;
  /**
   * Extra labels of the Namespace object; the standard and Pod Security labels win on a clash.
   * @default - none
   */
  readonly labels?: Record<string, string>;
}

/** The Pod Security Standard level every namespace enforces. */
export const POD_SECURITY_LEVEL = 'restricted';

/**
 * The environment's namespace: Pod Security Standard "restricted" enforced (and audited, warned),
 * and a NetworkPolicy that denies all traffic not allowed by a workload's own policy.
 */
export class AppNamespace extends Construct {
  /** The validated namespace name, for the `namespace` of objects placed in it. */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: AppNamespaceProps) {
    super(scope, id);
    this.name = Validator.of(this, id).namespace('name', props.name);
    const podSecurity = {
      'pod-security.kubernetes.io/enforce': POD_SECURITY_LEVEL,
      'pod-security.kubernetes.io/enforce-version': 'v1.27',
      'pod-security.kubernetes.io/audit': POD_SECURITY_LEVEL,
      'pod-security.kubernetes.io/warn': POD_SECURITY_LEVEL,
    };
    const labels = new StandardLabels(this, { name: this.name, component: 'namespace' }).labels;
    // Argo CD never prunes or deletes the namespace: deleting it would delete every volume in it (R14).
    new k8s.KubeNamespace(this, 'Resource', {
      metadata: { name: this.name, labels: { ...props.labels, ...labels, ...podSecurity }, annotations: { ...KEEP_ON_PRUNE_ANNOTATIONS } },
    });
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny-all', namespace: this.name, labels: { ...labels } },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  }
}
