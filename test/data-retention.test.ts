/**
 * R14, data survives: no volume claim of any store in any environment is deleted by an Argo CD
 * prune or sync, by deleting its StatefulSet, or by scaling it down.
 */
import { objectId, synthesizedMatrix } from './support/manifests';

const { manifests } = synthesizedMatrix();
const statefulSets = manifests.filter((m) => m.object.kind === 'StatefulSet');
const KEEP = 'Prune=false,Delete=false';

describe('every store keeps its data', () => {
  test('each environment runs its stores as StatefulSets with volume claims', () => {
    const names = (solution: string, environment: string) => statefulSets
      .filter((m) => m.solution === solution && m.environment === environment && m.object.spec.volumeClaimTemplates?.length)
      .map((m) => m.object.metadata.name).sort();
    expect(names('logistics', 'prod')).toEqual(expect.arrayContaining(['milvus-etcd', 'milvus-kafka', 'milvus-minio', 'mysql-primary', 'mysql-replica', 'redis']));
    expect(names('real-estate', 'prod')).toEqual(expect.arrayContaining(['milvus', 'milvus-etcd', 'milvus-minio', 'postgres', 'postgres-standby', 'redis', 'redis-replica']));
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
