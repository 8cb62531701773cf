import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { exporterContainer, MetricsSidecar } from './exporter';

/** oliver006/redis_exporter, pinned: the version {@link REDIS_EXPORTER_METRICS} names metrics for. */
export const REDIS_EXPORTER_IMAGE = 'oliver006/redis_exporter:v1.62.0';
/** Port redis_exporter serves `/metrics` on (its default), as the sidecar's `metrics` container port. */
export const REDIS_EXPORTER_PORT = 9121;

/** How {@link redisExporter} reaches the Redis server beside it. */
export interface RedisExporterOptions {
  /** The Secret key holding the server's password (`requirepass`). */
  readonly passwordSecret: SecretKeyRef;
  /** Port of the server in the same pod. */
  readonly redisPort: number;
}

/**
 * redis_exporter beside one Redis server. Cluster members are scraped one by one, each by its own
 * sidecar (no `--is-cluster`: that mode makes one exporter reach every member, which the members'
 * NetworkPolicy does not allow and which hides which member answered). On a cluster member it
 * also reports CLUSTER INFO (`redis_cluster_state`, `redis_cluster_slots_*`).
 */
export function redisExporter(options: RedisExporterOptions): MetricsSidecar {
  return exporterContainer({
    name: 'redis-exporter',
    image: REDIS_EXPORTER_IMAGE,
    port: REDIS_EXPORTER_PORT,
    env: [
      { name: 'REDIS_ADDR', value: `redis://127.0.0.1:${options.redisPort}` },
      envFromSecret('REDIS_PASSWORD', options.passwordSecret),
      { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${REDIS_EXPORTER_PORT}` },
    ],
  });
}
