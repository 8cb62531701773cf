import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { exporterContainer, MetricsSidecar } from './exporter';

/** The PostgreSQL exporter of the prometheus-community, configured by DATA_SOURCE_URI/USER/PASS. */
export const POSTGRES_EXPORTER_IMAGE = 'quay.io/prometheuscommunity/postgres-exporter:v0.15.0';
/** Port postgres_exporter serves `/metrics` on (its default), as the sidecar's `metrics` container port. */
export const POSTGRES_EXPORTER_PORT = 9187;

/** How {@link postgresExporter} logs in to the PostgreSQL server beside it. */
export interface PostgresExporterOptions {
  /** Role the exporter logs in as. */
  readonly user: string;
  /** The Secret key holding its password. */
  readonly passwordSecret: SecretKeyRef;
  /** Port of the server in the same pod. */
  readonly postgresPort: number;
  /**
   * Database the exporter connects to (the path of its `DATA_SOURCE_URI`).
   * @default 'postgres'
   */
  readonly database?: string;
}

/**
 * postgres_exporter beside a PostgreSQL server, over the pod's loopback with SCRAM (pg_hba.conf's
 * `host all all all scram-sha-256`): `pg_up`, `pg_stat_replication_*` on a primary,
 * `pg_stat_database_*`, settings. The password is a separate variable, never part of the URI.
 */
export function postgresExporter(options: PostgresExporterOptions): MetricsSidecar {
  return exporterContainer({
    name: 'postgres-exporter',
    image: POSTGRES_EXPORTER_IMAGE,
    port: POSTGRES_EXPORTER_PORT,
    args: [`--web.listen-address=:${POSTGRES_EXPORTER_PORT}`],
    env: [
      { name: 'DATA_SOURCE_URI', value: `127.0.0.1:${options.postgresPort}/${options.database ?? 'postgres'}?sslmode=disable` },
      { name: 'DATA_SOURCE_USER', value: options.user },
      envFromSecret('DATA_SOURCE_PASS', options.passwordSecret),
    ],
  });
}
