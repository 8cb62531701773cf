import { Construct } from 'constructs';
import { Validator } from '../../validation';
import { ServiceEndpoint } from '../../workload';
import { MilvusCluster, MilvusClusterProps } from './milvus-cluster';
import { MilvusStandalone, MilvusStandaloneProps } from './milvus-standalone';
import { MilvusCommonProps } from './options';

/** Milvus as configuration: one of the two topologies, chosen per environment by `mode`. */
export interface MilvusStoreSettings extends MilvusCommonProps,
  Omit<MilvusStandaloneProps, keyof MilvusCommonProps>,
  Partial<Omit<MilvusClusterProps, keyof MilvusCommonProps>> {
  /** `standalone`: one Milvus pod; `cluster`: coordinators, proxy and nodes with a message queue (R13). */
  readonly mode: 'standalone' | 'cluster';
}

/** Builds the topology `settings.mode` names; a cluster without `messageQueue` is refused by MilvusCluster. */
export function createMilvus(scope: Construct, id: string, settings: MilvusStoreSettings): {
  /** `<name>:19530` (`milvus:19530` by default): the Service of the proxies, or of the standalone pod. */
  readonly endpoint: ServiceEndpoint;
} {
  const { mode, ...props } = settings;
  Validator.of(scope, id).oneOf('mode', mode, ['standalone', 'cluster']);
  return mode === 'cluster' ? new MilvusCluster(scope, id, props as MilvusClusterProps) : new MilvusStandalone(scope, id, props);
}
