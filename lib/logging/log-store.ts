import { k8s } from 'cdk8s-plus-27';
import { SecretKeyRef } from '../secret-ref';

/** Elasticsearch as the logging platform reaches it: ECK in the store namespace, or an external endpoint. */
export interface LogStore {
  /** Host name the clients use (and Elasticsearch's certificate names). */
  readonly host: string;
  readonly port: number;
  /** `https://<host>:<port>` */
  readonly url: string;
  /** Pods or addresses a client's egress NetworkPolicy must open on {@link LogStore.port}. */
  readonly peers: readonly k8s.NetworkPolicyPeer[];
  /** Who installs the retention (store namespace). */
  readonly setupCredentials: { readonly username: string; readonly passwordSecret: SecretKeyRef };
  /** CA of the endpoint's certificate in the store namespace. @default - the public CAs */
  readonly setupCaSecret?: SecretKeyRef;
  /** Elasticsearch data nodes: a log index keeps one replica when there are two or more. */
  readonly dataNodes?: number;
}

/** Pods of one namespace with these labels, for NetworkPolicy rules. */
export function podsIn(namespace: string, labels: Readonly<Record<string, string>>): k8s.NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
    podSelector: { matchLabels: { ...labels } },
  };
}
