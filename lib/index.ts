// The construct library: what a solution is built from, the package's only entry point (package.json
// "exports"). The two solutions and the app that synthesizes them (lib/solutions, lib/config, main.ts)
// use only what is exported here; etc/ai-platform-k8s.api.md is the report of it that CI checks.
// Not exported: the app (synthesize.ts, the solutions' own definitions), the asset loader, the
// renderers and Argo CD's Application spec helpers, which the constructs use internally.
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
export * from './observability';
export * from './logging';
export * from './config/platform';
export * from './config/app-tier-settings';
export * from './config/overrides';
export * from './config/solution-definition';
export * from './solutions/environment-app';
export * from './solutions/app-tier';
export * from './solutions/solution';
export * from './backup';
export * from './delivery/delivery-options';
export * from './delivery/progressive-rollout';
export * from './delivery/rollout-analysis';
// Argo CD: the constructs and settings; the Application spec helpers (application-spec.ts) stay internal.
export * from './delivery/argocd/argocd-customizations';
export * from './delivery/argocd/build';
export * from './delivery/argocd/environment-application';
export * from './delivery/argocd/gitops-settings';
export * from './delivery/argocd/regional-rollout';
export * from './delivery/argocd/root-application';
export * from './delivery/argocd/shipped';
export * from './delivery/argocd/solution-project';
export * from './delivery/argocd/sync-waves';
export type { GitOpsEnvironment } from './delivery/argocd/application-spec';
export * from './config/gitops';
export * from './ops/vertical-scaling';
// PromQL helpers and the documented alert rule a solution's business alerts are written with.
export * from './observability/rules/promql';
export { dnsPeersOf } from './dns-peers';
export type { SettingsTypeName } from './config/settings-checks';
export type { WalArchiving } from './data/postgres/postgres-backup';
