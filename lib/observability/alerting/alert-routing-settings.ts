import { ResourceRequirements } from '../../resources';
import { SecretKeyRef } from '../../secret-ref';

/**
 * Where alerts go (R23, seed 004 11.4), configurable per environment under `monitoring.alerting`:
 * who each escalation level is, and the channels that reach them. Which level a severity reaches
 * is not configured here: it is SEVERITY_POLICIES (lib/observability/severity.ts).
 *
 * Values that identify people or systems (addresses, URLs, WeCom ids) are configuration; every
 * credential is a reference to a Secret key in the environment's namespace, never a value.
 */
export interface AlertRoutingSettings {
  /** Level 1: the on-call engineer. Every severity reaches them. */
  readonly onCall: EscalationContacts;
  /** Level 2: the tech lead (P0 and P1). */
  readonly techLead: EscalationContacts;
  /** Level 3: management (P0 only). */
  readonly management: EscalationContacts;
  /**
   * The SMTP server the e-mail receivers send through. Required where a level has `emails`.
   * @default - no e-mail
   */
  readonly email?: EmailChannelSettings;
  /**
   * The WeCom (WeChat Work) application Alertmanager's WeChat receiver sends as. Required where a
   * level has `wecomToParty`.
   * @default - no WeCom
   */
  readonly wecom?: WeComChannelSettings;
  /**
   * The DingTalk adapter (timonwong/prometheus-webhook-dingtalk) that turns Alertmanager
   * webhooks into DingTalk robot messages; deployed where a level has `dingtalk`.
   * @default - its defaults (see DingTalkAdapterSettings)
   */
  readonly dingtalkAdapter?: DingTalkAdapterSettings;
  /**
   * Labels alerts are grouped by into one notification.
   * @default ['alertname', 'namespace', 'job']
   */
  readonly groupBy?: string[];
}

/** The channels that reach one escalation level; at least one must be set. */
export interface EscalationContacts {
  /**
   * E-mail addresses, one e-mail receiver each (through `email`'s SMTP server).
   * @default - no e-mail
   */
  readonly emails?: string[];
  /**
   * The SMS gateway's webhook: Alertmanager POSTs its webhook JSON there and the gateway sends
   * text messages. No credentials in it (no user:password@): it is written into the manifests.
   * @default - no SMS
   */
  readonly smsWebhookUrl?: string;
  /**
   * WeCom department ids (`toParty`, several joined with `|`) the WeCom application messages.
   * @default - no WeCom
   */
  readonly wecomToParty?: string;
  /**
   * The DingTalk group robot of this level.
   * @default - no DingTalk
   */
  readonly dingtalk?: DingTalkRobotSettings;
}

/** SMTP server settings shared by every e-mail receiver. */
export interface EmailChannelSettings {
  /** `host:port` of the SMTP server, e.g. `smtp.example.com:587`. */
  readonly smarthost: string;
  /** Sender address. */
  readonly from: string;
  /**
   * SMTP user name; with it, `authPasswordSecret` is required.
   * @default - no SMTP authentication
   */
  readonly authUsername?: string;
  /**
   * The Secret key holding the SMTP password.
   * @default - no SMTP authentication
   */
  readonly authPasswordSecret?: SecretKeyRef;
  /**
   * Refuse to send without STARTTLS.
   * @default true
   */
  readonly requireTls?: boolean;
}

/** A WeCom application: Alertmanager's native WeChat receiver. */
export interface WeComChannelSettings {
  /** The company (corp) id. */
  readonly corpId: string;
  /** The application's agent id. */
  readonly agentId: string;
  /** The Secret key holding the application's secret. */
  readonly apiSecret: SecretKeyRef;
  /**
   * The WeCom API.
   * @default - Alertmanager's default, https://qyapi.weixin.qq.com/cgi-bin/
   */
  readonly apiUrl?: string;
}

/** A DingTalk group robot: its webhook URL (with the access token) and signing secret, from a Secret. */
export interface DingTalkRobotSettings {
  /** The Secret key holding the robot's webhook URL, `https://oapi.dingtalk.com/robot/send?access_token=...`. */
  readonly urlSecret: SecretKeyRef;
  /**
   * The Secret key holding the robot's signing secret (`SEC...`), where the robot is set to sign.
   * @default - unsigned requests
   */
  readonly signSecret?: SecretKeyRef;
  /**
   * Mention everyone in the group.
   * @default false
   */
  readonly mentionAll?: boolean;
}

/** The DingTalk adapter's Deployment. */
export interface DingTalkAdapterSettings {
  /**
   * The adapter's image, pinned.
   * @default 'timonwong/prometheus-webhook-dingtalk:v2.1.0'
   */
  readonly image?: string;
  /**
   * Image of the init container that writes the adapter's configuration from the Secrets (needs
   * a POSIX shell, which the adapter's distroless image lacks).
   * @default 'busybox:1.36.1'
   */
  readonly initImage?: string;
  /**
   * Pods.
   * @default 2 in production (a notification survives a node drain), 1 elsewhere
   */
  readonly replicas?: number;
  /**
   * CPU and memory requests and limits of the adapter container (the init container has its own,
   * fixed ones).
   * @default requests 50m CPU / 32Mi, limits 200m CPU / 128Mi
   */
  readonly resources?: ResourceRequirements;
}
