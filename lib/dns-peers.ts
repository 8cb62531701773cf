import type { DnsSettings } from './config/app-tier-settings';
import { NetworkPeer } from './workload';

/**
 * The DNS peers `dns` settings name (the solutions' and the platform's), or undefined for the
 * workloads' default (DEFAULT_DNS_PEERS: the same kube-dns pods and NodeLocal DNSCache).
 */
export function dnsPeersOf(dns: DnsSettings | undefined): NetworkPeer[] | undefined {
  if (dns === undefined) return undefined;
  return [
    NetworkPeer.kubeDns(dns.kubeDnsNamespace),
    ...(dns.nodeLocalDnsCache === false ? [] : [NetworkPeer.nodeLocalDnsCache(dns.nodeLocalDnsCache)]),
    ...(dns.cidrs ?? []).map((cidr) => NetworkPeer.cidr(cidr)),
  ];
}
