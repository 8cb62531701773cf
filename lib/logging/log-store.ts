import { k8s } from 'cdk8s-plus-27';
import { SecretKeyRef } from '../secret-ref';

/** Elasticsearch as the logging platform reaches it: ECK in the store namespace, or an external endpoint. */
export interface LogStore {
  /** Host name the clients use (and Elasticsearch's certificate names). */
  readonly host: string;
  /** Elasticsearch's HTTPS port: 9200 with ECK, the URL's port (443 unless given) for an external one. */
  readonly port: number;
  /** `https://<host>:<port>` */
  readonly url: string;
  /** Pods or addresses a client's egress NetworkPolicy must open on {@link LogStore.port}. */
  readonly peers: readonly k8s.NetworkPolicyPeer[];
  /** Who installs the retention (store namespace). */
  readonly setupCredentials: {
    /** The setup user's name (ECK: `elastic`). */
    readonly username: string;
    /** Secret key of its password in the store namespace (ECK: `<name>-es-elastic-user` key `elastic`). */
    readonly passwordSecret: SecretKeyRef;
  };
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
