/**
 * Alert severities (R25, seed 004 fault levels) and who each one reaches (seed 004 11.4
 * escalation). Every alert carries one; the routing (AlertmanagerConfig), the alert table in the
 * README and the runbooks read them from here.
 */
export enum Severity {
  /** The whole system is down or losing data: every escalation level, at once. */
  P0 = 'P0',
  /** A core function is down or badly degraded (no ready replicas, replication stopped). */
  P1 = 'P1',
  /** A part is degraded or heading for failure (saturation, lag, error ratio above target). */
  P2 = 'P2',
  /** Minor: worth a look in working hours. */
  P3 = 'P3',
}

/** Escalation levels of seed 004 11.4: who is told. */
export enum EscalationLevel {
  /** Level 1: the engineer on call; every severity reaches them. */
  ON_CALL = 'level-1-on-call',
  /** Level 2: the technical lead; reached by P0 and P1. */
  TECH_LEAD = 'level-2-tech-lead',
  /** Level 3: management; reached by P0 only. */
  MANAGEMENT = 'level-3-management',
}

/** What a severity commits to: response and recovery times, and who is told (seed 004 11.4). */
export interface SeverityPolicy {
  /** The severity this policy is for (its key in {@link SEVERITY_POLICIES}). */
  readonly severity: Severity;
  /** What the level means. */
  readonly meaning: string;
  /** Minutes within which someone responds (seed 000 fault levels). */
  readonly responseMinutes: number;
  /** Minutes within which service is recovered (seed 000 fault levels). */
  readonly recoveryMinutes: number;
  /** Who is told, in order. */
  readonly escalation: readonly EscalationLevel[];
}

/** Severity -> response, recovery and escalation. P0 reaches all three levels, P3 the on-call only. */
export const SEVERITY_POLICIES: Readonly<Record<Severity, SeverityPolicy>> = {
  [Severity.P0]: {
    severity: Severity.P0, meaning: 'whole system down or data at risk', responseMinutes: 15, recoveryMinutes: 60,
    escalation: [EscalationLevel.ON_CALL, EscalationLevel.TECH_LEAD, EscalationLevel.MANAGEMENT],
  },
  [Severity.P1]: {
    severity: Severity.P1, meaning: 'core function down or badly degraded', responseMinutes: 30, recoveryMinutes: 240,
    escalation: [EscalationLevel.ON_CALL, EscalationLevel.TECH_LEAD],
  },
  [Severity.P2]: {
    severity: Severity.P2, meaning: 'partly degraded or heading for failure', responseMinutes: 60, recoveryMinutes: 480,
    escalation: [EscalationLevel.ON_CALL],
  },
  [Severity.P3]: {
    severity: Severity.P3, meaning: 'minor, handled in working hours', responseMinutes: 24 * 60, recoveryMinutes: 5 * 24 * 60,
    escalation: [EscalationLevel.ON_CALL],
  },
};
