import { k8s } from 'cdk8s-plus-27';
import { ResourceRequirements, toK8sResources } from './resources';

/** A container port, named so Services and probes refer to it by name. */
export interface ContainerPortSpec {
  /** Port name that Services' `targetPort` and probes refer to: an IANA service name, at most 15 characters (`http`). */
  readonly name: string;
  /** Port number the process listens on inside the pod (1-65535); always TCP. */
  readonly containerPort: number;
}

/**
 * What varies between the containers of this library; the security context (restricted Pod
 * Security Standard) and `imagePullPolicy: IfNotPresent` are fixed by {@link secureContainer}.
 */
export interface SecureContainerProps {
  /** Container name, unique within the pod; a DNS label (the workload's name for its main container). */
  readonly name: string;
  /** Full image reference with a pinned tag. */
  readonly image: string;
  /**
   * CPU and memory requests and limits (and GPUs), written to the container's `resources` as given;
   * check them with `validateResources` first, this function does not.
   */
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
