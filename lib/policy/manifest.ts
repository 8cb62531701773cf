import { ApiObject } from 'cdk8s';
import { ENVIRONMENT_CONTEXT_KEY, PRODUCTION_CONTEXT_KEY } from '../validation';
import { renderOnce } from '../render-cache';

/** Labels or annotations of an object. */
export type StringMap = Readonly<Record<string, string>>;

/** `apiVersion` and `kind`: all a rule needs to decide whether an object concerns it. */
export interface TypeMeta {
  readonly apiVersion: string;
  readonly kind: string;
}

/** A label selector as manifests write it (Deployments, PodDisruptionBudgets, NetworkPolicies). */
export interface LabelSelectorJson {
  readonly matchLabels?: StringMap;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

export interface ObjectMetaJson {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
}

export interface SecurityContextJson {
  readonly privileged?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly procMount?: string;
  readonly capabilities?: { readonly add?: readonly string[]; readonly drop?: readonly string[] };
  readonly seccompProfile?: { readonly type?: string };
  readonly seLinuxOptions?: { readonly type?: string; readonly user?: string; readonly role?: string };
  readonly windowsOptions?: { readonly hostProcess?: boolean };
  readonly sysctls?: readonly { readonly name: string; readonly value: string }[];
}

export interface ProbeJson {
  readonly [handler: string]: unknown;
}

export interface EnvVarJson {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: unknown;
}

export interface ContainerPortJson {
  readonly name?: string;
  readonly containerPort: number;
  readonly hostPort?: number;
  readonly protocol?: string;
}

export interface ContainerJson {
  readonly name: string;
  readonly image?: string;
  readonly ports?: readonly ContainerPortJson[];
  readonly env?: readonly EnvVarJson[];
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string | number>>;
    readonly limits?: Readonly<Record<string, string | number>>;
  };
  readonly livenessProbe?: ProbeJson;
  readonly readinessProbe?: ProbeJson;
  readonly securityContext?: SecurityContextJson;
}

export interface VolumeJson {
  readonly name: string;
  readonly [source: string]: unknown;
}

export interface PodSpecJson {
  readonly containers?: readonly ContainerJson[];
  readonly initContainers?: readonly ContainerJson[];
  readonly volumes?: readonly VolumeJson[];
  readonly securityContext?: SecurityContextJson;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly restartPolicy?: string;
  readonly serviceAccountName?: string;
  readonly serviceAccount?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly topologySpreadConstraints?: readonly unknown[];
  readonly affinity?: {
    readonly podAntiAffinity?: {
      readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly unknown[];
      readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly unknown[];
    };
  };
}

/** An object as `ApiObject.toJson()` renders it: what `kubectl apply` receives. */
export interface KubeJson {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: ObjectMetaJson;
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
  public static of(apiObject: ApiObject): ManifestObject {
    return new ManifestObject(apiObject, renderOnce(apiObject) as KubeJson);
  }

  public readonly apiVersion: string;
  public readonly kind: string;
  public readonly name: string;
  /** `''` when the object sets none (it lands in the namespace it is applied to). */
  public readonly namespace: string;
  public readonly annotations: StringMap;
  /** The `ai-platform/environment` context of the object's construct (`prod`, `dev`, ...). */
  public readonly environment: string | undefined;
  /** Whether the object's environment is production (`production: true` in its settings). */
  public readonly production: boolean;

  private constructor(public readonly apiObject: ApiObject, public readonly json: KubeJson) {
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
