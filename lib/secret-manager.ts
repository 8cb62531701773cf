import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import {
  ExternalSecret, ExternalSecretSpecSecretStoreRefKind, ExternalSecretSpecTargetCreationPolicy,
} from '../imports/externalsecret-external-secrets.io';
import { StandardLabels } from './labels';
import { Validator } from './validation';

/** Where the External Secrets Operator fetches the environment's Secrets from (R16). */
export interface SecretManagerSettings {
  /** Name of the SecretStore or ClusterSecretStore (Vault, AWS Secrets Manager, ...) to read. */
  readonly storeName: string;
  /** @default 'ClusterSecretStore' */
  readonly storeKind?: 'SecretStore' | 'ClusterSecretStore';
  /**
   * Remote key prefix: Secret `s` is read from the remote key `<prefix>/<s>`, each of its keys
   * from the property of the same name.
   * @default '<solution>/<environment>'
   */
  readonly remoteKeyPrefix?: string;
  /**
   * How often the operator re-reads the store, as a Go duration.
   * @default '1h'
   */
  readonly refreshInterval?: string;
}

export interface SecretManagerSyncProps extends SecretManagerSettings {
  /** Secret name -> the keys workloads read from it. */
  readonly secrets: ReadonlyMap<string, ReadonlySet<string>>;
  /** The default remote key prefix (`<solution>/<environment>`). */
  readonly defaultRemoteKeyPrefix: string;
}

/**
 * One ExternalSecret per Secret the environment's workloads reference: the External Secrets
 * Operator creates and refreshes each Secret from the secret manager, so no value is ever in Git.
 */
export class SecretManagerSync extends Construct {
  public readonly externalSecrets: ExternalSecret[] = [];

  constructor(scope: Construct, id: string, props: SecretManagerSyncProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    v.dnsSubdomain('storeName', props.storeName);
    const kind = v.oneOf('storeKind', props.storeKind ?? 'ClusterSecretStore', ['SecretStore', 'ClusterSecretStore']);
    const refreshInterval = props.refreshInterval ?? '1h';
    if (!/^([0-9]+(s|m|h))+$/.test(refreshInterval)) v.fail('refreshInterval', 'a duration such as 15m or 1h', refreshInterval);
    const prefix = props.remoteKeyPrefix ?? props.defaultRemoteKeyPrefix;
    if (!/^[A-Za-z0-9][A-Za-z0-9/_.-]*$/.test(prefix)) v.fail('remoteKeyPrefix', 'a key path such as logistics/prod', prefix);

    for (const name of [...props.secrets.keys()].sort()) {
      const labels = new StandardLabels(this, { name, component: 'secret' }).labels;
      this.externalSecrets.push(new ExternalSecret(this, name, {
        metadata: { name, labels: { ...labels } },
        spec: {
          refreshInterval,
          secretStoreRef: {
            name: props.storeName,
            kind: kind === 'SecretStore' ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
          },
          target: { name, creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER },
          data: [...props.secrets.get(name)!].sort().map((key) => ({
            secretKey: key,
            remoteRef: { key: `${prefix}/${name}`, property: key },
          })),
        },
      }));
    }
  }
}

/** Kinds whose pod templates can read Secret keys; nothing else references them. */
const POD_OWNERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet', 'Pod', 'Rollout']);

/** Every Secret key the pods of the API objects under `scope` read through `secretKeyRef`: name -> keys. */
export function referencedSecretKeys(scope: IConstruct): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value && typeof value === 'object') {
      const ref = (value as { secretKeyRef?: { name?: string; key?: string } }).secretKeyRef;
      if (ref?.name && ref.key) {
        if (!found.has(ref.name)) found.set(ref.name, new Set());
        found.get(ref.name)!.add(ref.key);
      }
      Object.values(value).forEach(walk);
    }
  };
  for (const object of scope.node.findAll()) {
    if (object instanceof ApiObject && POD_OWNERS.has(object.kind)) walk(object.toJson());
  }
  return found;
}
