import { AppConfigProps, ReleaseSettings } from '../app-config';
import { BackupSettings } from '../backup/backup-settings';
import { ApiServiceProps } from '../api-service';
import { AppIngressProps } from '../ingress';
import { ModelServiceProps } from '../model-service';
import { EnvironmentMonitoringSettings } from '../observability/environment-monitoring-settings';
import { SecretManagerSettings } from '../secret-manager';
import { StatelessServiceProps } from '../stateless-service';
import { WebTierProps } from '../web-tier';

// The settings types are the constructs' props minus what the composition (lib/solutions/app-tier.ts)
// supplies, so a prop added to a construct can be configured without a change here, and the
// generated schema (settings.schema.json) follows it.

/** Props a stateless service gets from the composition, never from configuration. */
export type ComposedServiceProps = 'name' | 'env' | 'envFrom' | 'podAnnotations' | 'volumes';

/**
 * A stateless tier: image, size and scaling. `replicas` is required without `autoscaling` and
 * refused with it (the HorizontalPodAutoscaler owns the count; its `minReplicas` is the floor).
 */
export type ServiceSettings = Omit<StatelessServiceProps, ComposedServiceProps>;

/** The web tier (R7): a stateless service; `exposure` defaults to LoadBalancer. */
export type WebSettings = Omit<WebTierProps, ComposedServiceProps | 'api'>;

/** The API (R5): credentials are always configured (`secretEnv`), even when empty. */
export type ApiSettings = Omit<ApiServiceProps, ComposedServiceProps | 'config' | 'secretEnv'>
  & Required<Pick<ApiServiceProps, 'secretEnv'>>;

/** A model-serving service (R6); its name is its key in `models`. */
export type ModelSettings = Omit<ModelServiceProps, ComposedServiceProps | 'model'>;

/** The Ingress (R8); its backend is the web tier where there is one, else the API. */
export type IngressSettings = Omit<AppIngressProps, 'name' | 'backend'>;

/** What the application reads (R15): its name and release, properties, switches, gray/A-B settings. */
export interface ApplicationSettings extends Required<Pick<AppConfigProps, 'properties' | 'featureFlags'>> {
  /** Display name, `app.name` in app.properties. */
  readonly displayName: string;
  /** Release version (MAJOR.MINOR.PATCH): `app.version`, and the version label of shared objects. */
  readonly version: string;
  /**
   * Gray-release share and A/B experiments, rendered into app.properties as `release.gray.*` and
   * `release.ab.*` keys; percentages 0-100.
   */
  readonly release: ReleaseSettings;
}

/**
 * Where the pods resolve names: every workload's NetworkPolicy allows DNS (UDP and TCP 53) to
 * these, and nothing else.
 */
export interface DnsSettings {
  /** Namespace of the cluster DNS pods (`k8s-app: kube-dns`). @default 'kube-system' */
  readonly kubeDnsNamespace?: string;
  /**
   * Address of NodeLocal DNSCache, or false where the cluster does not run it.
   * @default '169.254.20.10'
   */
  readonly nodeLocalDnsCache?: string | false;
  /** Further resolvers as IPv4 CIDRs, e.g. a managed DNS `169.254.169.254/32`. @default - none */
  readonly cidrs?: string[];
}

/** Settings every solution has: namespace, application, API, model services, ingress. */
export interface AppTierSettings {
  /**
   * A production environment: its Secrets must come from a secret manager (`secretManager`), and
   * the policy engine's production rules (prod-ha) apply to it. A property of the environment,
   * not of its name.
   */
  readonly production: boolean;
  /**
   * Namespace the environment is deployed to and every object of it is placed in; a DNS label, none
   * of `default`, `kube-system`, `kube-public`, `kube-node-lease`.
   * @default - `<solution>-<environment>`
   */
  readonly namespace?: string;
  /** What the application reads (R15): rendered into the `app-config-env` and `app-config-properties` ConfigMaps. */
  readonly application: ApplicationSettings;
  /** The API service (R5): image, size and scaling, and the Secret references of its environment. */
  readonly api: ApiSettings;
  /** Model name (a DNS label) -> its model-serving service (R6). */
  readonly models: Record<string, ModelSettings>;
  /**
   * The environment's Ingress (R8): hosts, TLS and class; it routes to the web tier, or to the API
   * where the solution has no web tier.
   * @default - no Ingress
   */
  readonly ingress?: IngressSettings;
  /**
   * Where the environment's pods resolve names: the only DNS peers (UDP and TCP 53) their
   * NetworkPolicies allow.
   * @default - kube-dns pods in kube-system and NodeLocal DNSCache at 169.254.20.10
   */
  readonly dns?: DnsSettings;
  /**
   * How the cluster's Prometheus Operator finds this environment's monitors and rules, alert
   * thresholds, and alert routing.
   * @default - kube-prometheus-stack defaults (release label `kube-prometheus-stack`, namespace `monitoring`)
   */
  readonly monitoring?: EnvironmentMonitoringSettings;
  /**
   * Where every store of the environment is backed up (R26-R30): the bucket, the restic password
   * and bucket credentials as Secret references, time zone and retention.
   */
  readonly backup: BackupSettings;
  /**
   * Create the referenced Secrets from a secret manager through the External Secrets Operator.
   * Required where `production` is true.
   * @default - the Secrets are created in the namespace by other means (kubectl, sealed secrets)
   */
  readonly secretManager?: SecretManagerSettings;
}
