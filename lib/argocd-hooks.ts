/**
 * Annotations of a Job Argo CD runs as a hook of the Sync phase: created with the resources it
 * serves and deleted before it is created again on the next sync, so the Job's immutable pod
 * template is never patched and every sync runs it once more. Not PostSync: that waits until every
 * resource of the application is healthy, and the Jobs here (the Redis cluster bootstrap, the log
 * retention) are what makes other resources healthy.
 */
export const SYNC_HOOK_ANNOTATIONS: Readonly<Record<string, string>> = {
  'argocd.argoproj.io/hook': 'Sync',
  'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
};
