import { k8s } from 'cdk8s-plus-27';

/** A reference to one key of a Secret that exists in the cluster (never its value). */
export interface SecretKeyRef {
  /** Name of the Secret in the workload's namespace. */
  readonly name: string;
  /** Key inside the Secret. */
  readonly key: string;
}

/** An environment variable `name` whose value Kubernetes reads from the Secret key `ref` when the pod starts. */
export function envFromSecret(name: string, ref: SecretKeyRef): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}
