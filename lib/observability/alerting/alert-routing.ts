import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AlertmanagerConfig,
  AlertmanagerConfigSpecInhibitRules,
  AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType,
  AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType,
  AlertmanagerConfigSpecReceivers,
  AlertmanagerConfigSpecReceiversWebhookConfigs,
  AlertmanagerConfigSpecRoute,
  AlertmanagerConfigSpecRouteMatchersMatchType,
} from '../../../imports/alertmanagerconfig-monitoring.coreos.com';
import { SecretKeyRef } from '../../secret-ref';
import { StandardLabels } from '../../labels';
import { PRODUCTION_CONTEXT_KEY, Validator } from '../../validation';
import { monitoringOf } from '../monitoring-settings';
import { EscalationLevel, Severity, SEVERITY_POLICIES } from '../severity';
import { checkAlertRouting, LEVEL_FIELDS } from './alert-routing-checks';
import { AlertRoutingSettings, EscalationContacts } from './alert-routing-settings';
import { DingTalkWebhook } from './dingtalk-webhook';

/** How long Alertmanager waits before the first notification of a group, between updates, and before repeating one. */
export interface RouteTiming {
  /** Prometheus duration (`30s`) Alertmanager waits to gather a new group's alerts before its first notification. */
  readonly groupWait: string;
  /** Prometheus duration (`5m`) between notifications of a group whose alerts changed. */
  readonly groupInterval: string;
  /** Prometheus duration (`1h`) after which a still-firing, unchanged group is notified again. */
  readonly repeatInterval: string;
}

/**
 * Timing per severity: a P0 is sent within seconds and repeated every 15 minutes until resolved
 * (its response time is 15 minutes); a P3 waits to be grouped and is repeated once a day.
 */
export const SEVERITY_ROUTE_TIMING: Readonly<Record<Severity, RouteTiming>> = {
  [Severity.P0]: { groupWait: '10s', groupInterval: '1m', repeatInterval: '15m' },
  [Severity.P1]: { groupWait: '30s', groupInterval: '5m', repeatInterval: '1h' },
  [Severity.P2]: { groupWait: '1m', groupInterval: '10m', repeatInterval: '4h' },
  [Severity.P3]: { groupWait: '5m', groupInterval: '30m', repeatInterval: '24h' },
};

/** Severities a firing P0 silences in its own namespace/job/service: its symptoms, not news. */
export const INHIBITED_BY_P0: readonly Severity[] = [Severity.P2, Severity.P3];
/** Labels a P0 and the alerts it silences must share. */
export const INHIBITION_EQUAL_LABELS: readonly string[] = ['namespace', 'job', 'service'];
/**
 * Labels the route groups alerts by when `groupBy` is not configured: one notification per alert
 * name and job of the namespace.
 */
export const DEFAULT_GROUP_BY: readonly string[] = ['alertname', 'namespace', 'job'];

/** Properties of {@link AlertRouting}: the environment's `monitoring.alerting` settings and the object's name. */
export interface AlertRoutingProps extends AlertRoutingSettings {
  /** Name of the AlertmanagerConfig. @default 'alert-routing' */
  readonly name?: string;
}

/**
 * An environment's alert routing (R23, seed 004 11.4): an `AlertmanagerConfig`
 * (monitoring.coreos.com/v1alpha1) in the environment's namespace, which the Prometheus Operator
 * merges into the cluster's Alertmanager under a `namespace="<that namespace>"` matcher, so it
 * routes exactly the alerts of this environment. One receiver per escalation level (e-mail, SMS
 * webhook, WeCom, DingTalk); one route per severity and level from SEVERITY_POLICIES, so P0
 * reaches all three levels, P1 on-call and tech lead, P2 and P3 the on-call; an alert without a
 * known severity goes to the on-call. A firing P0 silences P2 and P3 alerts of the same
 * namespace, job and service. Credentials are Secret references ({@link AlertRouting.secretKeyRefs}); DingTalk
 * goes through a {@link DingTalkWebhook} adapter in the same namespace.
 */
export class AlertRouting extends Construct {
  /** `metadata.name` of the AlertmanagerConfig: `props.name`, or `alert-routing`; a DNS subdomain. */
  public readonly name: string;
  /** The synthesized `AlertmanagerConfig` object (route, one receiver per level, the P0 inhibition). */
  public readonly resource: AlertmanagerConfig;
  /** The adapter, where a level has a DingTalk robot. */
  public readonly dingtalk?: DingTalkWebhook;
  /** Secret keys the AlertmanagerConfig references (the operator reads them from this namespace). */
  public readonly secretKeyRefs: readonly SecretKeyRef[];

  constructor(scope: Construct, id: string, props: AlertRoutingProps) {
    super(scope, id);
    const v = Validator.of(this, id);
    checkAlertRouting(new Validator(v.where), false, props);
    this.name = v.dnsSubdomain('name', props.name ?? 'alert-routing');
    const namespace = Chart.of(this).namespace;
    if (!namespace) v.fail('namespace', 'the namespace of the chart (an AlertmanagerConfig routes only the alerts of its own namespace)', namespace);
    const production = this.node.tryGetContext(PRODUCTION_CONTEXT_KEY) === true;

    const levels = Object.values(EscalationLevel);
    const robots = levels.filter((level) => contactsOf(props, level).dingtalk !== undefined);
    if (robots.length > 0) {
      const adapter = props.dingtalkAdapter ?? {};
      this.dingtalk = new DingTalkWebhook(this, 'dingtalk-webhook', {
        image: adapter.image,
        initImage: adapter.initImage,
        replicas: adapter.replicas ?? (production ? 2 : 1),
        resources: adapter.resources,
        targets: robots.map((level) => ({ name: level, ...contactsOf(props, level).dingtalk! })),
      });
    }

    const secrets: SecretKeyRef[] = [];
    if (props.email?.authPasswordSecret) secrets.push(props.email.authPasswordSecret);
    if (props.wecom) secrets.push(props.wecom.apiSecret);
    this.secretKeyRefs = secrets;

    this.resource = new AlertmanagerConfig(this, 'Resource', {
      metadata: {
        name: this.name,
        labels: { ...new StandardLabels(this, { name: this.name, component: 'alerting' }).labels, ...monitoringOf(this).discoveryLabels },
      },
      spec: {
        route: this.route(props),
        receivers: levels.map((level) => this.receiver(props, level, namespace!)),
        inhibitRules: [p0Inhibition()],
      },
    });
  }

  /** Top route: the on-call for an alert without a known severity; below it one route per severity and level. */
  private route(props: AlertRoutingProps): AlertmanagerConfigSpecRoute {
    const fallback = SEVERITY_ROUTE_TIMING[Severity.P2];
    return {
      receiver: EscalationLevel.ON_CALL,
      groupBy: [...(props.groupBy ?? DEFAULT_GROUP_BY)],
      ...fallback,
      // `continue` on every child: a P0 must go on to the tech lead's and management's routes
      // after the on-call's; the severity matchers keep the other severities' routes out.
      routes: Object.values(Severity).flatMap((severity) => SEVERITY_POLICIES[severity].escalation.map((level) => ({
        matchers: [{ name: 'severity', value: severity, matchType: AlertmanagerConfigSpecRouteMatchersMatchType.VALUE_EQUALS }],
        receiver: level,
        continue: true,
        ...SEVERITY_ROUTE_TIMING[severity],
      }))),
    };
  }

  private receiver(props: AlertRoutingProps, level: EscalationLevel, namespace: string): AlertmanagerConfigSpecReceivers {
    const contacts = contactsOf(props, level);
    const email = props.email;
    const webhooks: AlertmanagerConfigSpecReceiversWebhookConfigs[] = [];
    if (contacts.smsWebhookUrl) webhooks.push({ url: contacts.smsWebhookUrl, sendResolved: true });
    if (contacts.dingtalk) webhooks.push({ url: this.dingtalk!.sendUrl(namespace, level), sendResolved: true });
    const emails = contacts.emails ?? [];
    return {
      name: level,
      emailConfigs: emails.length > 0 ? emails.map((to) => ({
        to,
        from: email!.from,
        smarthost: email!.smarthost,
        authUsername: email!.authUsername,
        authPassword: email!.authPasswordSecret && { name: email!.authPasswordSecret.name, key: email!.authPasswordSecret.key },
        requireTls: email!.requireTls ?? true,
        sendResolved: true,
      })) : undefined,
      webhookConfigs: webhooks.length > 0 ? webhooks : undefined,
      wechatConfigs: contacts.wecomToParty ? [{
        corpId: props.wecom!.corpId,
        agentId: props.wecom!.agentId,
        apiSecret: { name: props.wecom!.apiSecret.name, key: props.wecom!.apiSecret.key },
        apiUrl: props.wecom!.apiUrl,
        toParty: contacts.wecomToParty,
        sendResolved: true,
      }] : undefined,
    };
  }
}

function contactsOf(settings: AlertRoutingSettings, level: EscalationLevel): EscalationContacts {
  return settings[LEVEL_FIELDS[level]];
}

/** A firing P0 silences the P2 and P3 alerts that share its namespace, job and service. */
function p0Inhibition(): AlertmanagerConfigSpecInhibitRules {
  return {
    sourceMatch: [{ name: 'severity', value: Severity.P0, matchType: AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType.VALUE_EQUALS }],
    targetMatch: [{ name: 'severity', value: INHIBITED_BY_P0.join('|'), matchType: AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType.VALUE_EQUAL_TILDE }],
    equal: [...INHIBITION_EQUAL_LABELS],
  };
}
