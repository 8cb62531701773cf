export * from './capacity';
export * from './readme';
export type { Topology, TopologyEdge, TopologyGroup, TopologyNode } from './topology';
export { renderMermaid, topologyOf, TIERS } from './topology';
