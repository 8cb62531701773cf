import { envFromSecret, SecretKeyRef } from '../../secret-ref';
import { exporterContainer, MetricsSidecar } from './exporter';

/**
 * prom/mysqld-exporter 0.15: configured by `--mysqld.username` and `MYSQLD_EXPORTER_PASSWORD`
 * (0.15 removed `DATA_SOURCE_NAME`, which would also put the password in a URL).
 */
export const MYSQLD_EXPORTER_IMAGE = 'prom/mysqld-exporter:v0.15.1';
/** Port mysqld_exporter serves `/metrics` on (its default), as the sidecar's `metrics` container port. */
export const MYSQLD_EXPORTER_PORT = 9104;

/** How {@link mysqlExporter} logs in to the MySQL server beside it. */
export interface MySqlExporterOptions {
  /** Account the exporter logs in as. */
  readonly user: string;
  /** The Secret key holding its password. */
  readonly passwordSecret: SecretKeyRef;
  /** Port of the server in the same pod. */
  readonly mysqlPort: number;
}

/**
 * mysqld_exporter beside a MySQL server, scraping it over the pod's loopback: `mysql_up`,
 * `mysql_slave_status_*` (SHOW SLAVE STATUS), global status and variables.
 */
export function mysqlExporter(options: MySqlExporterOptions): MetricsSidecar {
  return exporterContainer({
    name: 'mysqld-exporter',
    image: MYSQLD_EXPORTER_IMAGE,
    port: MYSQLD_EXPORTER_PORT,
    args: [
      // 127.0.0.1, not localhost: with skip_name_resolve a TCP login matches root@'%', never @'localhost'.
      `--mysqld.address=127.0.0.1:${options.mysqlPort}`,
      `--mysqld.username=${options.user}`,
      `--web.listen-address=:${MYSQLD_EXPORTER_PORT}`,
    ],
    env: [envFromSecret('MYSQLD_EXPORTER_PASSWORD', options.passwordSecret)],
  });
}
