import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { StandardLabels } from './labels';
import { Validator } from './validation';

/** A value of `app.properties`. */
export type PropertyValue = string | number | boolean;

/** Gray release and A/B settings the application reads (R15); traffic shifting itself is the delivery tier's. */
export interface ReleaseSettings {
  /**
   * Percent of users who get features marked gray (0-100).
   * @default 0
   */
  readonly grayPercentage?: number;
  /**
   * A/B experiments: experiment name -> percent of users in variant B.
   * @default - none
   */
  readonly abTests?: Record<string, number>;
}

/** The application's configuration for one environment: settings, properties, feature flags and release settings. */
export interface AppConfigProps {
  /**
   * Prefix of the two ConfigMaps (`<name>-env-<hash>`, `<name>-properties-<hash>`) and their
   * `app.kubernetes.io/name` label; a DNS label of at most 50 characters.
   * @default 'app-config'
   */
  readonly name?: string;
  /** Settings the processes read as environment variables: hosts and ports of the stores, log format. */
  readonly settings: Record<string, string>;
  /** Application properties rendered into `app.properties` (`recommendation.top_k=10`). */
  readonly properties: Record<string, PropertyValue>;
  /**
   * Feature switches, rendered as `feature.<name>=true|false`.
   * @default - none
   */
  readonly featureFlags?: Record<string, boolean>;
  /**
   * Gray release percentage and A/B experiments, rendered into `app.properties` as
   * `release.gray.percentage` and `release.ab.<experiment>.percentage` (each 0-100).
   * @default - no gray release, no experiments
   */
  readonly release?: ReleaseSettings;
}

const PROPERTY_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;
/** Keys app.properties derives from featureFlags and release; a property may not set them directly. */
const RESERVED_PREFIXES = ['feature.', 'release.gray.', 'release.ab.'];

/**
 * The application's configuration (R15) as two ConfigMaps: `<name>-env` holds settings for
 * `envFrom`, `<name>-properties` holds `app.properties`. {@link AppConfig.checksum} goes into pod templates
 * so that a configuration change rolls the pods.
 */
export class AppConfig extends Construct {
  /**
   * Name of the ConfigMap holding the settings, `<name>-env-<first 10 hex of checksum>`: a new name for
   * every configuration, so each pod version keeps its own; read it through {@link AppConfig.envFrom}.
   */
  public readonly envConfigMapName: string;
  /**
   * Name of the ConfigMap holding `app.properties`, `<name>-properties-<first 10 hex of checksum>`;
   * mounted through {@link AppConfig.propertiesVolume}.
   */
  public readonly propertiesConfigMapName: string;
  /** SHA-256 of all configuration data. */
  public readonly checksum: string;
  /** The rendered `app.properties`. */
  public readonly propertiesFile: string;

  constructor(scope: Construct, id: string, props: AppConfigProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    const name = v.dnsLabel('name', props.name ?? 'app-config', 50);
    for (const [key, value] of Object.entries(props.settings)) {
      v.envVarName(`settings.${key}`, key);
      if (typeof value !== 'string') v.fail(`settings.${key}`, 'a string', value);
    }
    for (const [key, value] of Object.entries(props.properties)) {
      if (!PROPERTY_KEY.test(key)) v.fail(`properties.${key}`, 'a property key such as recommendation.top_k', key);
      if (RESERVED_PREFIXES.some((prefix) => key.startsWith(prefix))) {
        v.fail(`properties.${key}`, `a key outside ${RESERVED_PREFIXES.join(', ')} (set by featureFlags and release)`, key);
      }
      if (!['string', 'number', 'boolean'].includes(typeof value)) v.fail(`properties.${key}`, 'a string, number or boolean', value);
      // A line break would start a new property: `x\nfeature.admin=true` must not switch a feature on.
      if (typeof value === 'string' && /[\r\n]/.test(value)) v.fail(`properties.${key}`, 'a single-line value', value);
    }
    for (const [flag, on] of Object.entries(props.featureFlags ?? {})) {
      if (!PROPERTY_KEY.test(flag)) v.fail(`featureFlags.${flag}`, 'a flag name such as route_optimization', flag);
      if (typeof on !== 'boolean') v.fail(`featureFlags.${flag}`, 'true or false', on);
    }
    const release = props.release ?? {};
    const gray = v.integer('release.grayPercentage', release.grayPercentage ?? 0, 0, 100);
    for (const [experiment, percent] of Object.entries(release.abTests ?? {})) {
      if (!PROPERTY_KEY.test(experiment)) v.fail(`release.abTests.${experiment}`, 'an experiment name', experiment);
      v.integer(`release.abTests.${experiment}`, percent, 0, 100);
    }

    const all: Record<string, PropertyValue> = { ...props.properties, 'release.gray.percentage': gray };
    for (const [flag, on] of Object.entries(props.featureFlags ?? {})) all[`feature.${flag}`] = on;
    for (const [experiment, percent] of Object.entries(release.abTests ?? {})) all[`release.ab.${experiment}.percentage`] = percent;
    this.propertiesFile = Object.keys(all).sort().map((k) => `${k}=${all[k]}`).join('\n') + '\n';

    const settings = sortKeys(props.settings);
    this.checksum = createHash('sha256').update(JSON.stringify(settings)).update(this.propertiesFile).digest('hex');
    // Content-hashed names: a new configuration is a new ConfigMap, so the pods of each version
    // keep reading their own, and a rollback (Argo Rollouts' abort, or a ReplicaSet scaled back)
    // takes its configuration along (argo-rollouts #1297). Argo CD never prunes them, or the
    // stable version's pods could not start after a release; old ones are removed by hand
    // (README, "Releases").
    const hash = this.checksum.slice(0, 10);
    this.envConfigMapName = `${name}-env-${hash}`;
    this.propertiesConfigMapName = `${name}-properties-${hash}`;
    const labels = { ...new StandardLabels(this, { name, component: 'config' }).labels };
    // Kept (never pruned), and not reported as OutOfSync once a newer version replaced them.
    const annotations = { 'argocd.argoproj.io/sync-options': 'Prune=false', 'argocd.argoproj.io/compare-options': 'IgnoreExtraneous' };
    new k8s.KubeConfigMap(this, 'Env', { metadata: { name: this.envConfigMapName, labels, annotations }, data: settings, immutable: true });
    new k8s.KubeConfigMap(this, 'Properties', {
      metadata: { name: this.propertiesConfigMapName, labels, annotations },
      data: { 'app.properties': this.propertiesFile },
      immutable: true,
    });
  }

  /** `envFrom` for every setting. */
  public envFrom(): k8s.EnvFromSource[] {
    return [{ configMapRef: { name: this.envConfigMapName } }];
  }

  /** A volume with `app.properties`, to mount read-only. */
  public propertiesVolume(): k8s.Volume {
    return { name: 'app-properties', configMap: { name: this.propertiesConfigMapName } };
  }
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]]));
}
