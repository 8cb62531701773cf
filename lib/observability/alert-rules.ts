import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/prometheusrule-monitoring.coreos.com';
import { StandardLabels } from '../labels';
import { Validator } from '../validation';
import { monitoringOf, runbookUrl } from './monitoring-settings';
import { AlertRule, durationSeconds, isAlertRule, longestRangeSeconds, RecordingRule, RuleGroup } from './rules';
import { Severity } from './severity';

/** Props of {@link AlertRules}. */
export interface AlertRulesProps {
  /** Name of the PrometheusRule object. @default - the construct id */
  readonly name?: string;
  /** `app.kubernetes.io/component` of the object. @default 'monitoring' */
  readonly component?: string;
  /**
   * The rule groups, in order, as `spec.groups`. Alert names must be PascalCase and unique across
   * every group of this object; recording rules named `level:metric:operations`.
   */
  readonly groups: readonly RuleGroup[];
}

const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;
const RECORD_NAME = /^[a-z_]+(:[a-z0-9_]+){2}$/;
const SEVERITIES = Object.values(Severity) as string[];

/**
 * A `PrometheusRule` (monitoring.coreos.com/v1) holding rule groups, stamped with the discovery
 * labels the cluster's Prometheus selects rules by. Every alert gets `severity` as a label and
 * `summary`, `description` and `runbook_url` as annotations. Refused at synth: a non-PascalCase or
 * repeated alert name, an unknown severity, a `for` shorter than the expression's rate window, a
 * recording rule not named `level:metric:operations`.
 */
export class AlertRules extends Construct {
  /** `metadata.name` of the PrometheusRule: `props.name`, or the construct id; a DNS subdomain. */
  public readonly name: string;
  /** The rule groups as given (after validation); {@link AlertRules.alerts} lists their alerts. */
  public readonly groups: readonly RuleGroup[];
  /** The synthesized `PrometheusRule` object, for escape hatches. */
  public readonly resource: PrometheusRule;

  constructor(scope: Construct, id: string, props: AlertRulesProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    this.name = v.dnsSubdomain('name', props.name ?? id);
    this.groups = props.groups;
    const monitoring = monitoringOf(this);
    const seen = new Set<string>();
    for (const group of props.groups) {
      for (const rule of group.rules) {
        if (isAlertRule(rule)) validateAlert(v, `${group.name}.${rule.alert}`, rule, seen);
        else validateRecording(v, `${group.name}.${rule.record}`, rule);
      }
    }
    this.resource = new PrometheusRule(this, 'Resource', {
      metadata: {
        name: this.name,
        labels: { ...new StandardLabels(this, { name: this.name, component: props.component ?? 'monitoring' }).labels, ...monitoring.discoveryLabels },
      },
      spec: {
        groups: props.groups.map((group) => ({
          name: group.name,
          rules: group.rules.map((rule) => (isAlertRule(rule)
            ? {
              alert: rule.alert,
              expr: PrometheusRuleSpecGroupsRulesExpr.fromString(rule.expr),
              for: rule.forDuration,
              labels: { severity: rule.severity },
              annotations: { summary: rule.summary, description: rule.description, runbook_url: runbookUrl(monitoring, rule.alert) },
            }
            : { record: rule.record, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(rule.expr) })),
        })),
      },
    });
  }

  /** Every alert of every group. */
  public get alerts(): AlertRule[] {
    return this.groups.flatMap((g) => g.rules.filter(isAlertRule));
  }
}

function validateAlert(v: Validator, field: string, rule: AlertRule, seen: Set<string>): void {
  if (!ALERT_NAME.test(rule.alert)) v.fail(`${field}`, 'a PascalCase alert name such as MysqlReplicationStopped', rule.alert);
  if (seen.has(rule.alert)) v.fail(field, 'an alert name used once per rule object', rule.alert);
  seen.add(rule.alert);
  if (!SEVERITIES.includes(rule.severity)) v.fail(`${field}.severity`, `one of ${SEVERITIES.join(', ')}`, rule.severity);
  if (rule.expr.trim() === '') v.fail(`${field}.expr`, 'a PromQL expression', rule.expr);
  const forSeconds = durationSeconds(rule.forDuration);
  if (forSeconds === undefined) v.fail(`${field}.forDuration`, 'a Prometheus duration such as 5m', rule.forDuration);
  const window = longestRangeSeconds(rule.expr);
  if (forSeconds < window) {
    v.fail(`${field}.forDuration`, `at least the longest range in the expression (${window}s): a shorter for adds nothing`, rule.forDuration);
  }
}

function validateRecording(v: Validator, field: string, rule: RecordingRule): void {
  if (!RECORD_NAME.test(rule.record)) v.fail(field, 'a recording rule name level:metric:operations', rule.record);
  if (rule.expr.trim() === '') v.fail(`${field}.expr`, 'a PromQL expression', rule.expr);
}
