/**
 * Where alerts go (R23, seed 004 11.4), configurable per environment under `monitoring.alerting`:
 * the receivers of each escalation level.
 */
export interface AlertRoutingSettings {
  /** E-mail addresses of the level-1 on-call. */
  readonly onCallEmails: string[];
}
