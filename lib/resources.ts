import { k8s } from 'cdk8s-plus-27';
import { ProblemCollector, Validator } from './validation';

/** CPU and memory of one side (requests or limits) of a container's resources. */
export interface ComputeResources {
  /** CPU quantity, e.g. `500m` or `2`. */
  readonly cpu: string;
  /** Memory quantity, e.g. `512Mi` or `2Gi`. */
  readonly memory: string;
}

/** Requests and limits: both are always set (the scheduler needs requests, the node needs limits). */
export interface ResourceRequirements {
  /** What the scheduler reserves on a node for the container; the base of HPA utilisation percentages. */
  readonly requests: ComputeResources;
  /**
   * What the container may use at most: CPU above it is throttled, memory above it is OOM-killed.
   * Each is at least its request.
   */
  readonly limits: ComputeResources;
  /**
   * Whole GPUs (`nvidia.com/gpu`) requested and limited, for model serving.
   * @default 0 - no GPU
   */
  readonly gpu?: number;
}

/**
 * Checks quantities and that no request is above its limit.
 * @throws ConfigError naming every bad field of `resources`, not only the first
 */
export function validateResources(v: Validator, field: string, resources: ResourceRequirements): void {
  if (!resources || !resources.requests || !resources.limits) {
    v.fail(field, 'requests and limits, each with cpu and memory', resources);
  }
  const r = v.nested(field);
  const problems = new ProblemCollector();
  problems.check(() => r.cpu('requests.cpu', resources.requests.cpu));
  problems.check(() => r.memory('requests.memory', resources.requests.memory));
  problems.check(() => r.cpu('limits.cpu', resources.limits.cpu));
  problems.check(() => r.memory('limits.memory', resources.limits.memory));
  // A malformed quantity parses to NaN and compares as not above: it is reported once, above.
  problems.check(() => r.notAbove('requests.cpu', resources.requests.cpu, 'limits.cpu', resources.limits.cpu));
  problems.check(() => r.notAbove('requests.memory', resources.requests.memory, 'limits.memory', resources.limits.memory));
  if (resources.gpu !== undefined) problems.check(() => r.integer('gpu', resources.gpu!, 0, 16));
  problems.throwIfAny();
}

/**
 * The container `resources` block: requests and limits as given, and `nvidia.com/gpu` in both when
 * `gpu` is above 0. Does not validate; call {@link validateResources} first.
 */
export function toK8sResources(resources: ResourceRequirements): k8s.ResourceRequirements {
  const gpu: Record<string, k8s.Quantity> = resources.gpu ? { 'nvidia.com/gpu': k8s.Quantity.fromNumber(resources.gpu) } : {};
  return {
    requests: {
      cpu: k8s.Quantity.fromString(resources.requests.cpu),
      memory: k8s.Quantity.fromString(resources.requests.memory),
      ...gpu,
    },
    limits: {
      cpu: k8s.Quantity.fromString(resources.limits.cpu),
      memory: k8s.Quantity.fromString(resources.limits.memory),
      ...gpu,
    },
  };
}
