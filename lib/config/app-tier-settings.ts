import { PropertyValue, ReleaseSettings } from '../app-config';
import { AutoscalingOptions } from '../autoscaler';
import { ImageRef, ResourceRequirements, SecretKeyRef } from '../container';
import { IngressTlsOptions } from '../ingress';
import { SecretManagerSettings } from '../secret-manager';
import { ServiceExposure } from '../stateless-service';

/** A stateless tier: image, size and scaling. */
export interface ServiceSettings {
  readonly image: ImageRef;
  /** Pods when not autoscaled. */
  readonly replicas: number;
  readonly resources: ResourceRequirements;
  /** @default - fixed replicas */
  readonly autoscaling?: AutoscalingOptions;
  /** @default ServiceExposure.CLUSTER_IP (web: LOAD_BALANCER) */
  readonly exposure?: ServiceExposure;
}

export interface ApiSettings extends ServiceSettings {
  /** @default 80 */
  readonly servicePort?: number;
  /** Credentials as environment variables from Secrets that exist in the cluster. */
  readonly secretEnv: Record<string, SecretKeyRef>;
}

export interface ModelSettings extends ServiceSettings {
  /** @default 60 */
  readonly startupSeconds?: number;
  /** @default '10Gi' */
  readonly cacheSize?: string;
}

export interface IngressSettings {
  readonly hosts: string[];
  /** @default - no TLS */
  readonly tls?: IngressTlsOptions;
  /** @default 'nginx' */
  readonly ingressClassName?: string;
}

/** What the application reads (R15): its name and release, properties, switches, gray/A-B settings. */
export interface ApplicationSettings {
  /** Display name, `app.name` in app.properties. */
  readonly displayName: string;
  /** Release version (MAJOR.MINOR.PATCH): `app.version`, and the version label of shared objects. */
  readonly version: string;
  readonly properties: Record<string, PropertyValue>;
  readonly featureFlags: Record<string, boolean>;
  readonly release: ReleaseSettings;
}

/** Settings every solution has: namespace, application, API, model services, ingress. */
export interface AppTierSettings {
  /** @default - `<solution>-<environment>` */
  readonly namespace?: string;
  readonly application: ApplicationSettings;
  readonly api: ApiSettings;
  /** Model name (a DNS label) -> its model-serving service (R6). */
  readonly models: Record<string, ModelSettings>;
  /** @default - no Ingress */
  readonly ingress?: IngressSettings;
  /**
   * Create the referenced Secrets from a secret manager through the External Secrets Operator.
   * @default - the Secrets are created in the namespace by other means (kubectl, sealed secrets)
   */
  readonly secretManager?: SecretManagerSettings;
}
