import { k8s } from 'cdk8s-plus-27';
import { Validator } from '../validation';

/** The persistent volume of each pod of a store. */
export interface StorageOptions {
  /** Size in binary units, e.g. `100Gi`. */
  readonly size: string;
  /**
   * StorageClass of the claims.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
}

/**
 * Checks a store's {@link StorageOptions} at `field`: `size` in binary units (`100Gi`; `100G` is refused)
 * and `storageClassName`, when given, a DNS subdomain.
 * @throws ConfigError naming `<field>`, `<field>.size` or `<field>.storageClassName` and the value provided
 */
export function validateStorage(v: Validator, field: string, storage: StorageOptions): void {
  if (!storage) v.fail(field, 'a storage definition { size, storageClassName? }', storage);
  v.storage(`${field}.size`, storage.size);
  if (storage.storageClassName !== undefined) v.dnsSubdomain(`${field}.storageClassName`, storage.storageClassName);
}

/**
 * R14, data survives: a StatefulSet keeps its claims when it is deleted or scaled down
 * (`persistentVolumeClaimRetentionPolicy`, on by default in Kubernetes 1.27).
 */
export const RETAIN_CLAIMS: k8s.StatefulSetPersistentVolumeClaimRetentionPolicy = { whenDeleted: 'Retain', whenScaled: 'Retain' };

/**
 * R14: Argo CD never prunes or deletes objects that own data, even when they disappear from Git or
 * the Application is deleted. Set on StatefulSets and on their claim templates.
 */
export const KEEP_ON_PRUNE_ANNOTATIONS: Readonly<Record<string, string>> = {
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
};

/** A claim template for a StatefulSet, ReadWriteOnce, annotated so that Argo CD never prunes it. */
export function volumeClaimTemplate(name: string, labels: Readonly<Record<string, string>>, storage: StorageOptions): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name, labels: { ...labels }, annotations: { ...KEEP_ON_PRUNE_ANNOTATIONS } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: storage.storageClassName,
      resources: { requests: { storage: k8s.Quantity.fromString(storage.size) } },
    },
  };
}
