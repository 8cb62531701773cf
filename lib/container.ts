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
  /**
   * Named ports the process listens on, each emitted with `protocol: TCP`.
   * @default - none
   */
  readonly ports?: ContainerPortSpec[];
  /**
   * Executable and its arguments, replacing the image's `ENTRYPOINT` (the container's `command`).
   * @default - the image's entrypoint
   */
  readonly command?: string[];
  /**
   * Arguments passed to the entrypoint or `command`, replacing the image's `CMD` (the container's `args`).
   * @default - the image's arguments
   */
  readonly args?: string[];
  /**
   * Environment variables: literal settings, or Secret values through `valueFrom.secretKeyRef` (never
   * a credential as a literal: the policy rules refuse that).
   * @default - none
   */
  readonly env?: k8s.EnvVar[];
  /**
   * Whole ConfigMaps or Secrets whose keys become environment variables (the container's `envFrom`).
   * @default - none
   */
  readonly envFrom?: k8s.EnvFromSource[];
  /**
   * Probe whose failures make the kubelet restart the container.
   * @default - none
   */
  readonly livenessProbe?: k8s.Probe;
  /**
   * Probe whose failures take the pod out of its Services' endpoints until it passes again.
   * @default - none
   */
  readonly readinessProbe?: k8s.Probe;
  /**
   * Probe that holds back the liveness and readiness probes until it first passes, for slow starts.
   * @default - none
   */
  readonly startupProbe?: k8s.Probe;
  /**
   * Volumes of the pod mounted into the container; with the read-only root file system, the only
   * writable paths.
   * @default - none
   */
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
