import { k8s } from 'cdk8s-plus-27';
import { ResourceRequirements, toK8sResources } from './resources';

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
