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
  readonly requests: ComputeResources;
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

/** A container port, named so Services and probes refer to it by name. */
export interface ContainerPortSpec {
  readonly name: string;
  readonly containerPort: number;
}

export interface SecureContainerProps {
  readonly name: string;
  /** Full image reference with a pinned tag. */
  readonly image: string;
  readonly resources: ResourceRequirements;
  /** @default - none */
  readonly ports?: ContainerPortSpec[];
  /** @default - the image's entrypoint */
  readonly command?: string[];
  /** @default - the image's arguments */
  readonly args?: string[];
  /** @default - none */
  readonly env?: k8s.EnvVar[];
  /** @default - none */
  readonly envFrom?: k8s.EnvFromSource[];
  /** @default - none */
  readonly livenessProbe?: k8s.Probe;
  /** @default - none */
  readonly readinessProbe?: k8s.Probe;
  /** @default - none */
  readonly startupProbe?: k8s.Probe;
  /** @default - none */
  readonly volumeMounts?: k8s.VolumeMount[];
  /**
   * Root file system read-only; writable paths are emptyDir or volume mounts.
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;
}

/**
 * A container that meets the Pod Security Standard "restricted": no privilege escalation, no
 * capabilities, non-root, read-only root file system.
 */
export function secureContainer(props: SecureContainerProps): k8s.Container {
  return {
    name: props.name,
    image: props.image,
    imagePullPolicy: 'IfNotPresent',
    command: props.command,
    args: props.args,
    ports: props.ports?.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: 'TCP' })),
    env: props.env,
    envFrom: props.envFrom,
    resources: toK8sResources(props.resources),
    livenessProbe: props.livenessProbe,
    readinessProbe: props.readinessProbe,
    startupProbe: props.startupProbe,
    volumeMounts: props.volumeMounts,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: props.readOnlyRootFilesystem ?? true,
      runAsNonRoot: true,
    },
  };
}

/** A reference to one key of a Secret that exists in the cluster (never its value). */
export interface SecretKeyRef {
  /** Name of the Secret in the workload's namespace. */
  readonly name: string;
  /** Key inside the Secret. */
  readonly key: string;
}

export function envFromSecret(name: string, ref: SecretKeyRef): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

/** Image reference: a repository and a pinned tag, kept apart so each is checked on its own. */
export interface ImageRef {
  /** e.g. `registry.example.com/logistics/api` */
  readonly repository: string;
  /** A semantic version, e.g. `1.4.2`. */
  readonly tag: string;
}

export function imageName(image: ImageRef): string {
  return `${image.repository}:${image.tag}`;
}

/**
 * Checks an application image: a repository and a semantic-version tag (R18).
 * @throws ConfigError naming both fields when both are bad
 */
export function validateImage(v: Validator, field: string, image: ImageRef): void {
  if (!image) v.fail(field, 'an image { repository, tag }', image);
  const problems = new ProblemCollector();
  problems.check(() => v.imageRepository(`${field}.repository`, image.repository));
  problems.check(() => v.semverTag(`${field}.tag`, image.tag));
  problems.throwIfAny();
}
