import { Construct } from 'constructs';
import { MySqlServer, MySqlServerSettings } from './mysql-server';

/**
 * The MySQL primary: one pod, StatefulSet `<name>-primary`, read-write behind the Service
 * `<name>-primary`. On every start its set-up creates the application database, the replication
 * account and the application account where they are missing or their password changed.
 *
 * No PodDisruptionBudget: a single pod cannot be kept available through a node drain, so
 * `maxUnavailable: 0` would only block drains and `maxUnavailable: 1` would protect nothing.
 */
export class MySqlPrimary extends MySqlServer {
  constructor(scope: Construct, id: string, settings: MySqlServerSettings) {
    const name = `${settings.baseName}-primary`;
    super(scope, id, settings, { kind: 'primary', name, serviceName: name, replicas: 1, podManagementPolicy: 'OrderedReady' });
  }
}
