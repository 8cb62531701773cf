/**
 * R14, data survives: no volume claim of any store in any environment is deleted by an Argo CD
 * prune or sync, by deleting its StatefulSet, or by scaling it down.
 */
import { objectId, synthesizedMatrix } from './support/manifests';
import { MATRIX, settingsOf } from './support/solution-objects';

const { manifests } = synthesizedMatrix();
const statefulSets = manifests.filter((m) => m.object.kind === 'StatefulSet');
const KEEP = 'Prune=false,Delete=false';

describe('every store keeps its data', () => {
  test.each(MATRIX)('%s/%s runs every store its settings declare as StatefulSets with volume claims', (solution, environment) => {
    const names = statefulSets
      .filter((m) => m.solution === solution && m.environment === environment && m.object.spec.volumeClaimTemplates?.length)
      .map((m) => m.object.metadata.name);
    expect(names).toEqual(expect.arrayContaining(storesDeclared(settingsOf(solution, environment))));
  });

  test.each(statefulSets.map((m) => [objectId(m), m] as const))('%s retains its claims and is never pruned', (_, m) => {
    expect(m.object.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(m.object.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe(KEEP);
    for (const claim of m.object.spec.volumeClaimTemplates ?? []) {
      expect(claim.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe(KEEP);
      expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    }
  });

  test('no store keeps data in a Deployment or an emptyDir where a claim belongs', () => {
    const stores = manifests.filter((m) => m.object.kind === 'Deployment'
      && ['database', 'cache'].includes(m.object.metadata.labels['app.kubernetes.io/component']));
    expect(stores.map(objectId)).toEqual([]);
  });

  test('no PersistentVolumeClaim is written as an object Argo CD could prune', () => {
    const claims = manifests.filter((m) => m.object.kind === 'PersistentVolumeClaim' && m.object.metadata.annotations?.['argocd.argoproj.io/sync-options'] !== KEEP);
    expect(claims.map(objectId)).toEqual([]);
  });
});

/** The StatefulSets that hold each declared store's data, from the settings' topology. */
function storesDeclared(settings: Readonly<Record<string, any>>): string[] {
  const names: string[] = [];
  if (settings.mysql) names.push('mysql-primary', ...((settings.mysql.replicas ?? 0) > 0 ? ['mysql-replica'] : []));
  if (settings.redis) {
    const cluster = 'masters' in settings.redis || 'replicasPerMaster' in settings.redis;
    names.push('redis', ...(!cluster && (settings.redis.replicas ?? 0) > 0 ? ['redis-replica'] : []));
  }
  if (settings.postgres) names.push('postgres', ...(settings.postgres.standby ? ['postgres-standby'] : []));
  if (settings.milvus) {
    const milvus = settings.milvus;
    names.push('milvus-etcd', ...(milvus.mode === 'cluster' ? [] : ['milvus']));
    if (milvus.objectStorage?.minio) names.push('milvus-minio');
    if (milvus.messageQueue?.kafka) names.push('milvus-kafka');
  }
  return names;
}
