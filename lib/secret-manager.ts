import { Construct, IConstruct } from 'constructs';
import {
  ExternalSecret, ExternalSecretSpecSecretStoreRefKind, ExternalSecretSpecTargetCreationPolicy,
} from '../imports/externalsecret-external-secrets.io';
import { StandardLabels } from './labels';
import { Validator } from './validation';
import { Workload } from './workload';

/** Where the External Secrets Operator fetches the environment's Secrets from (R16). */
export interface SecretManagerSettings {
  /** Name of the SecretStore or ClusterSecretStore (Vault, AWS Secrets Manager, ...) to read. */
  readonly storeName: string;
  /**
   * Kind of the store `storeName` names (each ExternalSecret's `secretStoreRef.kind`): a
   * ClusterSecretStore serves every namespace, a SecretStore only its own. Any other value is refused.
   * @default 'ClusterSecretStore'
   */
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

/** Props of {@link SecretManagerSync}: the environment's `secretManager` settings and the Secret keys workloads read. */
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
  /** One ExternalSecret per referenced Secret (sorted by name), each creating and owning a Secret of that name. */
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

/** Every Secret key the workloads under `scope` read: name -> keys. */
export function referencedSecretKeys(scope: IConstruct): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const construct of scope.node.findAll()) {
    if (!(construct instanceof Workload)) continue;
    for (const ref of construct.secretKeyRefs) {
      if (!found.has(ref.name)) found.set(ref.name, new Set());
      found.get(ref.name)!.add(ref.key);
    }
  }
  return found;
}
