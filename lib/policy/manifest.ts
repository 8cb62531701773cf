import { ApiObject } from 'cdk8s';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY } from '../validation';
import { renderOnce } from '../render-cache';

/** Labels or annotations of an object. */
export type StringMap = Readonly<Record<string, string>>;

/** `apiVersion` and `kind`: all a rule needs to decide whether an object concerns it. */
export interface TypeMeta {
  /** `<group>/<version>` (`apps/v1`), or the version alone for the core group (`v1`). */
  readonly apiVersion: string;
  /** The object's kind (`Deployment`); with the group it names the type, since a CRD may reuse a kind name. */
  readonly kind: string;
}

/** A label selector as manifests write it (Deployments, PodDisruptionBudgets, NetworkPolicies). */
export interface LabelSelectorJson {
  /** Labels a selected object must carry with exactly these values. */
  readonly matchLabels?: StringMap;
  /** Further requirements, all of which must hold (ANDed with `matchLabels`). */
  readonly matchExpressions?: readonly {
    /** The label key the requirement is about. */
    readonly key: string;
    /** `In`, `NotIn`, `Exists` or `DoesNotExist`. */
    readonly operator: string;
    /** Values for `In` and `NotIn`; empty or absent for `Exists` and `DoesNotExist`. */
    readonly values?: readonly string[];
  }[];
}

/** The `metadata` of a rendered object, as far as the policy rules read it. */
export interface ObjectMetaJson {
  /** `metadata.name`: the object's name within its namespace (or the cluster, for cluster-scoped kinds). */
  readonly name?: string;
  /** `metadata.namespace`; absent for cluster-scoped kinds and for objects applied into a namespace chosen later. */
  readonly namespace?: string;
  /** `metadata.labels`: what selectors match. */
  readonly labels?: StringMap;
  /** `metadata.annotations`, including the policy exemptions (`policy.ai-platform.io/exempt-<rule>`). */
  readonly annotations?: StringMap;
}

/**
 * A pod's or a container's `securityContext`, as far as `pod-security` (the restricted Pod Security
 * Standard) reads it; a container's setting overrides the pod's where both exist.
 */
export interface SecurityContextJson {
  /** Container only: full host privileges; refused. */
  readonly privileged?: boolean;
  /** Container only: whether a process may gain more privileges than its parent (setuid); must be false. */
  readonly allowPrivilegeEscalation?: boolean;
  /** Container only: mount the image's file system read-only; `read-only-root-fs` requires true (write to emptyDirs). */
  readonly readOnlyRootFilesystem?: boolean;
  /** Refuse to start a container whose user is root; must be true on the container or the pod. */
  readonly runAsNonRoot?: boolean;
  /** Numeric user id the processes run as; must be set (container or pod) and not 0. */
  readonly runAsUser?: number;
  /** Container only: `/proc` masking; anything but `Default` is refused. */
  readonly procMount?: string;
  /** Container only: Linux capabilities; `drop` must hold `ALL` and `add` must be empty. */
  readonly capabilities?: {
    /** Capabilities added to the runtime's default set (`NET_ADMIN`); must be empty. */
    readonly add?: readonly string[];
    /** Capabilities removed; must include `ALL`. */
    readonly drop?: readonly string[];
  };
  /** The seccomp filter; `RuntimeDefault` or `Localhost` on the container or the pod. */
  readonly seccompProfile?: {
    /** `RuntimeDefault`, `Localhost` or `Unconfined` (refused). */
    readonly type?: string;
  };
  /** SELinux labels; only the container types the restricted standard allows, no user or role. */
  readonly seLinuxOptions?: {
    /** SELinux type; `container_t`, `container_init_t` or `container_kvm_t` only. */
    readonly type?: string;
    /** SELinux user; must be unset. */
    readonly user?: string;
    /** SELinux role; must be unset. */
    readonly role?: string;
  };
  /** Windows-specific settings; only `hostProcess` is read. */
  readonly windowsOptions?: {
    /** Run as a Windows HostProcess container with host access; must not be true. */
    readonly hostProcess?: boolean;
  };
  /** Pod only: kernel parameters set for the pod; only the sysctls Kubernetes deems safe are allowed. */
  readonly sysctls?: readonly {
    /** Kernel parameter name (`net.ipv4.ip_local_port_range`). */
    readonly name: string;
    /** Value it is set to. */
    readonly value: string;
  }[];
}

/** A liveness, readiness or startup probe: `probes-set` only checks that one is present. */
export interface ProbeJson {
  /** The probe's handler (`httpGet`, `tcpSocket`, `exec`, `grpc`) and timing fields, not read by the rules. */
  readonly [handler: string]: unknown;
}

/** One entry of a container's `env`; `secrets` refuses credential-looking names with literal values. */
export interface EnvVarJson {
  /** Variable name as the process sees it (`DB_PASSWORD`). */
  readonly name: string;
  /** A literal value, written into the manifest (and so into Git). */
  readonly value?: string;
  /** Where the value comes from at pod start instead (`secretKeyRef`, `configMapKeyRef`, `fieldRef`). */
  readonly valueFrom?: unknown;
}

/** One entry of a container's `ports`. */
export interface ContainerPortJson {
  /** Port name Services and probes refer to (`http`). */
  readonly name?: string;
  /** Port the process listens on in the pod. */
  readonly containerPort: number;
  /** A port bound on the node's own address; `no-host-access` refuses any. */
  readonly hostPort?: number;
  /** `TCP` (Kubernetes' default), `UDP` or `SCTP`. */
  readonly protocol?: string;
}

/** A container or init container of a pod spec, as far as the policy rules read it. */
export interface ContainerJson {
  /** Container name, unique in the pod; findings name it (`container "api"`). */
  readonly name: string;
  /**
   * Image reference; `image-pinned` refuses one without a tag, or with `latest` or another moving tag
   * (`stable`, ...), unless it has a digest.
   */
  readonly image?: string;
  /** Ports the container declares. */
  readonly ports?: readonly ContainerPortJson[];
  /** Environment variables; `secrets` checks them for literal credentials. */
  readonly env?: readonly EnvVarJson[];
  /** Compute resources; `resources-set` requires cpu and memory in both requests and limits. */
  readonly resources?: {
    /** What the scheduler reserves: `cpu`, `memory`, `nvidia.com/gpu`, as quantities. */
    readonly requests?: Readonly<Record<string, string | number>>;
    /** The most the container may use, same keys. */
    readonly limits?: Readonly<Record<string, string | number>>;
  };
  /** Restarts the container when it fails; required of long-running workloads' containers by `probes-set`. */
  readonly livenessProbe?: ProbeJson;
  /** Takes the pod out of its Services while it fails; required like `livenessProbe`. */
  readonly readinessProbe?: ProbeJson;
  /** The container's security settings, checked by `pod-security` together with the pod's. */
  readonly securityContext?: SecurityContextJson;
}

/** A pod volume: its name and one source field (`emptyDir`, `hostPath`, `configMap`, ...). */
export interface VolumeJson {
  /** Volume name, which containers' `volumeMounts` refer to. */
  readonly name: string;
  /** The volume's source (`emptyDir`, `hostPath`, `configMap`, `secret`, ...); its key is what the rules read. */
  readonly [source: string]: unknown;
}

/** A pod spec as rendered, as far as the policy rules read it. */
export interface PodSpecJson {
  /** The regular containers. */
  readonly containers?: readonly ContainerJson[];
  /** Containers run to completion, one after another, before the regular ones start. */
  readonly initContainers?: readonly ContainerJson[];
  /** Pod volumes; `no-host-access` refuses `hostPath`, `pod-security` volume types outside the restricted list. */
  readonly volumes?: readonly VolumeJson[];
  /** Pod-level security settings, the fallback of each container's. */
  readonly securityContext?: SecurityContextJson;
  /** Use the node's network namespace; refused by `no-host-access`. */
  readonly hostNetwork?: boolean;
  /** Share the node's process namespace; refused by `no-host-access`. */
  readonly hostPID?: boolean;
  /** Share the node's IPC namespace; refused by `no-host-access`. */
  readonly hostIPC?: boolean;
  /** `Always` (Kubernetes' default for pods), `OnFailure` or `Never`; decides whether a bare Pod is long-running. */
  readonly restartPolicy?: string;
  /** ServiceAccount the pods run as (`default` when unset); its own `automountServiceAccountToken` counts too. */
  readonly serviceAccountName?: string;
  /** Deprecated alias of `serviceAccountName`, read when that is unset. */
  readonly serviceAccount?: string;
  /** Mount the ServiceAccount token; `sa-token-not-mounted` wants false here or on the ServiceAccount. */
  readonly automountServiceAccountToken?: boolean;
  /** How pods spread over nodes and zones; `prod-ha` accepts these or pod anti-affinity for production replicas. */
  readonly topologySpreadConstraints?: readonly unknown[];
  /** Scheduling affinity; only pod anti-affinity is read (by `prod-ha`). */
  readonly affinity?: {
    /** Keep pods away from nodes or zones that already run matching pods. */
    readonly podAntiAffinity?: {
      /** Hard rules: a pod stays Pending rather than break one. */
      readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly unknown[];
      /** Soft, weighted rules the scheduler tries to follow. */
      readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly unknown[];
    };
  };
}

/** An object as `ApiObject.toJson()` renders it: what `kubectl apply` receives. */
export interface KubeJson {
  /** `apps/v1`, `v1`, ... */
  readonly apiVersion: string;
  /** `Deployment`, `Service`, ... */
  readonly kind: string;
  /** Name, namespace, labels and annotations. */
  readonly metadata?: ObjectMetaJson;
  /** The kind's other top-level fields (`spec`, `data`, `rules`, ...), read by the rules that know the kind. */
  readonly [field: string]: unknown;
}

/** The API group of an `apiVersion`: `apps` for `apps/v1`, `''` (core) for `v1`. */
export function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion) return '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Whether an object is one of `kinds` of API group `group` (a CRD may reuse a built-in kind's name). */
export function isKind(type: TypeMeta, group: string, ...kinds: string[]): boolean {
  return groupOf(type.apiVersion) === group && kinds.includes(type.kind);
}

/**
 * One synthesized object with the construct it came from: rules read the JSON, exemptions and the
 * environment come from the construct tree.
 */
export class ManifestObject implements TypeMeta {
  /**
   * Renders `apiObject` and wraps it; inside `synthesizeApp` the rendering is cached and shared with
   * the YAML writer.
   */
  public static of(apiObject: ApiObject): ManifestObject {
    return new ManifestObject(apiObject, renderOnce(apiObject) as KubeJson);
  }

  /** The rendered `apiVersion`. */
  public readonly apiVersion: string;
  /** The rendered `kind`. */
  public readonly kind: string;
  /** The rendered `metadata.name`. */
  public readonly name: string;
  /** `''` when the object sets none (it lands in the namespace it is applied to). */
  public readonly namespace: string;
  /** The object's own `metadata.annotations` (not its pods'), empty when unset; exemptions are read here. */
  public readonly annotations: StringMap;
  /** The `ai-platform/environment` context of the object's construct (`prod`, `dev`, ...). */
  public readonly environment: string | undefined;
  /** Whether the object's environment is production (`production: true` in its settings). */
  public readonly production: boolean;

  /**
   * @param apiObject - The cdk8s construct the object came from: its chart, context and construct path.
   * @param json - The object as rendered (`ApiObject.toJson()`), what the rules inspect.
   */
  private constructor(
    /** The cdk8s construct the object came from: its chart, context (environment) and construct path. */
    public readonly apiObject: ApiObject,
    /** The object as rendered (`ApiObject.toJson()`): what `kubectl apply` receives and the rules inspect. */
    public readonly json: KubeJson,
  ) {
    this.apiVersion = json.apiVersion ?? apiObject.apiVersion;
    this.kind = json.kind ?? apiObject.kind;
    this.name = json.metadata?.name ?? apiObject.name;
    this.namespace = json.metadata?.namespace ?? '';
    this.annotations = json.metadata?.annotations ?? {};
    this.environment = apiObject.node.tryGetContext(ENVIRONMENT_CONTEXT_KEY);
    this.production = apiObject.node.tryGetContext(PRODUCTION_CONTEXT_KEY) === true;
  }

  /** `Deployment logistics-prod/api`, or `Deployment api` without a namespace. */
  public get ref(): string {
    return `${this.kind} ${this.namespace ? `${this.namespace}/` : ''}${this.name}`;
  }

  /** A field of the object (`spec`, `data`), typed by the caller that knows the kind. */
  public field<T>(name: string): T | undefined {
    return this.json[name] as T | undefined;
  }
}
