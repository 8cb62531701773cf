export * from './redis-settings';
export * from './redis-servers';
export * from './redis-cluster-bootstrap';
export * from './redis-cluster';
export * from './redis';
