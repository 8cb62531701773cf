import { validateResources } from '../../resources';
import { ProblemCollector, Validator } from '../../validation';
import { EscalationLevel } from '../severity';
import { AlertRoutingSettings, EscalationContacts } from './alert-routing-settings';

/** The settings field of each escalation level, in level order. */
export const LEVEL_FIELDS: Readonly<Record<EscalationLevel, 'onCall' | 'techLead' | 'management'>> = {
  [EscalationLevel.ON_CALL]: 'onCall',
  [EscalationLevel.TECH_LEAD]: 'techLead',
  [EscalationLevel.MANAGEMENT]: 'management',
};

const FIELD = 'monitoring.alerting';
// Deliberately loose: one @, no spaces or commas (Alertmanager would read a comma as a list).
const EMAIL = /^[^\s@,<>"]+@[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/i;
const SMARTHOST = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:\d{1,5}$/i;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const WECOM_PARTY = /^\d+(\|\d+)*$/;

/**
 * Checks an environment's alert routing, every problem at once, fields named
 * `monitoring.alerting.<field>`. A production environment must have one: its alerts must reach
 * the escalation levels, not wherever the cluster's Alertmanager happens to send them.
 * @throws ConfigError with every problem found
 */
export function checkAlertRouting(v: Validator, production: boolean, alerting: AlertRoutingSettings | undefined): void {
  if (alerting === undefined) {
    if (production) {
      v.fail(FIELD, 'set where production is true (production alerts must reach the on-call, tech lead and management)', alerting);
    }
    return;
  }
  const problems = new ProblemCollector();
  const a = v.nested(FIELD);
  const levels = Object.values(LEVEL_FIELDS).map((field) => ({ field, contacts: alerting[field] }));
  for (const { field, contacts } of levels) problems.check(() => checkContacts(a, field, contacts));

  const usesEmail = levels.some((l) => (l.contacts?.emails ?? []).length > 0);
  const usesWecom = levels.some((l) => l.contacts?.wecomToParty !== undefined);
  if (usesEmail && !alerting.email) problems.check(() => a.fail('email', 'set where a level has emails (the SMTP server to send through)', alerting.email));
  if (usesWecom && !alerting.wecom) problems.check(() => a.fail('wecom', 'set where a level has wecomToParty (the WeCom application to send as)', alerting.wecom));

  const email = alerting.email;
  if (email) {
    const e = a.nested('email');
    problems.check(() => {
      if (!SMARTHOST.test(email.smarthost ?? '')) e.fail('smarthost', 'host:port of an SMTP server such as smtp.example.com:587', email.smarthost);
    });
    problems.check(() => {
      if (!EMAIL.test(email.from ?? '')) e.fail('from', 'an e-mail address', email.from);
    });
    problems.check(() => {
      if ((email.authUsername === undefined) !== (email.authPasswordSecret === undefined)) {
        e.fail('authPasswordSecret', 'set together with authUsername (SMTP authentication needs both)', email.authPasswordSecret);
      }
    });
    if (email.authPasswordSecret) problems.check(() => e.secretKeyRef('authPasswordSecret', email.authPasswordSecret));
  }

  const wecom = alerting.wecom;
  if (wecom) {
    const w = a.nested('wecom');
    problems.check(() => {
      if (!/^[A-Za-z0-9]+$/.test(wecom.corpId ?? '')) w.fail('corpId', 'a WeCom corp id (letters and digits)', wecom.corpId);
    });
    problems.check(() => {
      if (!/^\d+$/.test(wecom.agentId ?? '')) w.fail('agentId', 'a WeCom application agent id (digits)', wecom.agentId);
    });
    problems.check(() => w.secretKeyRef('apiSecret', wecom.apiSecret));
    if (wecom.apiUrl !== undefined) problems.check(() => checkUrl(w, 'apiUrl', wecom.apiUrl!, true));
  }

  const adapter = alerting.dingtalkAdapter;
  if (adapter) {
    const d = a.nested('dingtalkAdapter');
    if (adapter.image !== undefined) problems.check(() => d.pinnedImage('image', adapter.image!));
    if (adapter.initImage !== undefined) problems.check(() => d.pinnedImage('initImage', adapter.initImage!));
    if (adapter.replicas !== undefined) problems.check(() => d.integer('replicas', adapter.replicas!, 1, 10));
    if (adapter.resources !== undefined) problems.check(() => validateResources(d, 'resources', adapter.resources!));
  }

  const groupBy = alerting.groupBy;
  if (groupBy !== undefined) {
    problems.check(() => {
      if (groupBy.length === 0) a.fail('groupBy', 'a list of at least one label name', groupBy);
      const bad = groupBy.find((label) => !LABEL_NAME.test(label));
      if (bad !== undefined) a.fail('groupBy', 'a list of label names such as alertname, namespace, job', bad);
      const repeated = groupBy.find((label, i) => groupBy.indexOf(label) !== i);
      if (repeated !== undefined) a.fail('groupBy', 'a list without repeated labels', repeated);
    });
  }
  problems.throwIfAny();
}

/** One level: at least one channel, each well formed. */
function checkContacts(parent: Validator, field: string, contacts: EscalationContacts | undefined): void {
  const problems = new ProblemCollector();
  const v = parent.nested(field);
  const channels = contacts ? [(contacts.emails ?? []).length > 0, contacts.smsWebhookUrl, contacts.wecomToParty, contacts.dingtalk].filter(Boolean) : [];
  if (channels.length === 0) {
    parent.fail(field, 'at least one of emails, smsWebhookUrl, wecomToParty, dingtalk (a level nobody hears defeats the escalation)', contacts);
  }
  (contacts!.emails ?? []).forEach((address, i) => problems.check(() => {
    if (!EMAIL.test(address)) v.fail(`emails[${i}]`, 'an e-mail address', address);
    if (contacts!.emails!.indexOf(address) !== i) v.fail(`emails[${i}]`, 'an address listed once', address);
  }));
  if (contacts!.smsWebhookUrl !== undefined) problems.check(() => checkUrl(v, 'smsWebhookUrl', contacts!.smsWebhookUrl!, false));
  if (contacts!.wecomToParty !== undefined) {
    problems.check(() => {
      if (!WECOM_PARTY.test(contacts!.wecomToParty!)) v.fail('wecomToParty', 'WeCom department ids joined with | such as 2|7', contacts!.wecomToParty);
    });
  }
  const robot = contacts!.dingtalk;
  if (robot) {
    problems.check(() => v.secretKeyRef('dingtalk.urlSecret', robot.urlSecret));
    if (robot.signSecret) problems.check(() => v.secretKeyRef('dingtalk.signSecret', robot.signSecret));
  }
  problems.throwIfAny();
}

/** An http(s) URL without credentials: it is written into the manifests. */
function checkUrl(v: Validator, field: string, value: string, httpsOnly: boolean): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const schemes = httpsOnly ? ['https:'] : ['http:', 'https:'];
  if (!url || !schemes.includes(url.protocol) || url.hostname === '') {
    v.fail(field, `an ${httpsOnly ? 'https' : 'http(s)'} URL such as https://sms.example.com/alertmanager`, value);
  }
  if (url.username !== '' || url.password !== '') {
    v.fail(field, 'a URL without user:password@ (credentials belong in a Secret, not in the manifests)', value.replace(/\/\/[^@/]*@/, '//***@'));
  }
}
