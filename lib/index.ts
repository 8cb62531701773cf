// The construct library: what a solution is built from. The two solutions and the app that
// synthesizes them (lib/solutions, lib/config, main.ts) use only what is exported here.
export * from './validation';
export * from './quantity';
export * from './labels';
export * from './container';
export * from './images';
export * from './probes';
export * from './resources';
export * from './secret-ref';
export * from './workload';
export * from './stateless-service';
export * from './api-service';
export * from './web-tier';
export * from './model-service';
export * from './autoscaler';
export * from './ingress';
export * from './app-config';
export * from './namespace';
export * from './secret-manager';
export * from './data';
export * from './policy';
export * from './config/app-tier-settings';
export * from './config/overrides';
export * from './config/solution-definition';
export * from './solutions/environment-app';
export * from './solutions/app-tier';
export * from './solutions/solution';
