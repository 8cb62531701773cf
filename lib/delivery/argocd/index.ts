// GitOps with Argo CD (R21): Applications, AppProjects, the regional production rollout, sync waves.
export * from './application-spec';
export * from './argocd-customizations';
export * from './build';
export * from './environment-application';
export * from './gitops-settings';
export * from './regional-rollout';
export * from './root-application';
export * from './shipped';
export * from './solution-project';
export * from './sync-waves';
