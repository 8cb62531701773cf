import { ResourceRequirements } from '../../resources';
import { exporterContainer, MetricsSidecar } from './exporter';

/** danielqsj/kafka-exporter, pinned: the version {@link KAFKA_EXPORTER_METRICS} names metrics for. */
export const KAFKA_EXPORTER_IMAGE = 'danielqsj/kafka-exporter:v1.8.0';
/** Port kafka_exporter serves `/metrics` on (its default), as the sidecar's `metrics` container port. */
export const KAFKA_EXPORTER_PORT = 9308;

/** Topic and consumer-group metadata of a busy cluster takes more memory than a database exporter. */
const KAFKA_EXPORTER_RESOURCES: ResourceRequirements = {
  requests: { cpu: '20m', memory: '64Mi' },
  limits: { cpu: '200m', memory: '256Mi' },
};

/** What {@link kafkaExporter} needs to reach the broker beside it. */
export interface KafkaExporterOptions {
  /** The broker port in the same pod. */
  readonly brokerPort: number;
}

/**
 * kafka_exporter beside each broker, bootstrapping from it over the pod's loopback; it then reads
 * the cluster's metadata (`kafka_brokers`, partitions, in-sync replicas, consumer-group lag)
 * from the brokers the cluster advertises, which the brokers' NetworkPolicy already opens to
 * each other.
 */
export function kafkaExporter(options: KafkaExporterOptions): MetricsSidecar {
  return exporterContainer({
    name: 'kafka-exporter',
    image: KAFKA_EXPORTER_IMAGE,
    port: KAFKA_EXPORTER_PORT,
    resources: KAFKA_EXPORTER_RESOURCES,
    args: [`--kafka.server=127.0.0.1:${options.brokerPort}`, `--web.listen-address=:${KAFKA_EXPORTER_PORT}`],
  });
}
