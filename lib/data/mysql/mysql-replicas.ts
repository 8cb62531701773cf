import { Construct } from 'constructs';
import { ServiceEndpoint } from '../../workload';
import { MySqlServer, MySqlServerSettings } from './mysql-server';

/** Where the replicas come from and how many there are. */
export interface MySqlReplicasOptions {
  /** Read replicas (pods of the StatefulSet). */
  readonly replicas: number;
  /** The primary's endpoint: the replicas copy from it and replicate it. */
  readonly source: ServiceEndpoint;
}

/**
 * The MySQL read replicas: StatefulSet `<name>-replica`, read-only behind the Service
 * `<name>-read`. A new replica copies the primary's data, then replicates with GTID
 * auto-positioning; a restarted one resumes where it stopped, and one that can no longer catch up
 * (the primary purged the binary logs it needs) copies again. A replica is read-only from its
 * start and is in the read Service only while both its replication threads run. The pods prefer other nodes and zones than the primary, and
 * with more than one replica a PodDisruptionBudget keeps all but one serving.
 */
export class MySqlReplicas extends MySqlServer {
  constructor(scope: Construct, id: string, settings: MySqlServerSettings, options: MySqlReplicasOptions) {
    super(scope, id, settings, {
      kind: 'replica',
      name: `${settings.baseName}-replica`,
      serviceName: `${settings.baseName}-read`,
      replicas: options.replicas,
      // Each replica copies from the primary on its own: none waits for another.
      podManagementPolicy: 'Parallel',
      source: options.source,
      avoid: options.source.workload.labels.selectorLabels,
    });
    this.connectTo(options.source);
    if (options.replicas > 1) this.addDisruptionBudget(1);
  }
}
