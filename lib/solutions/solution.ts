import { join } from 'path';
import { AppTierSettings } from '../config/app-tier-settings';
import { dnsPeersOf } from '../dns-peers';
import { namespaceOf, resolveEnvironment, SolutionDefinition } from '../config/solution-definition';
import { AlertRouting } from '../observability/alerting';
import { stampSyncWaves } from '../delivery/argocd';
import { Policies } from '../policy';
import { referencedSecretKeys, SecretManagerSync } from '../secret-manager';
import { EnvironmentApp } from './environment-app';

/** A solution: its configuration, and how one environment of it is built from its settings. */
export interface Solution<S extends AppTierSettings> {
  /** The solution's configuration: its name, settings type, defaults and each environment's overrides. */
  readonly definition: SolutionDefinition<S>;
  /** Adds the solution's constructs to the environment's charts. */
  build(app: EnvironmentApp, settings: S): void;
}

/**
 * Builds one environment of a solution as an {@link EnvironmentApp} writing to
 * `<outdir>/<solution>/<environment>`, with the platform's policies enforced: `synth()` refuses to
 * write an environment that breaks one. Nothing is written until `synth()` is called.
 */
export function buildEnvironment<S extends AppTierSettings>(
  solution: Solution<S>, environment: string, outdir: string,
): EnvironmentApp {
  const resolved = resolveEnvironment(solution.definition, environment);
  const alerting = resolved.settings.monitoring?.alerting;
  const app = new EnvironmentApp({
    solution: resolved.solution,
    environment: resolved.environment,
    namespace: namespaceOf(resolved),
    version: resolved.settings.application.version,
    production: resolved.production,
    dnsPeers: dnsPeersOf(resolved.settings.dns),
    monitoring: resolved.settings.monitoring,
    backup: resolved.settings.backup,
    outdir: join(outdir, resolved.solution, resolved.environment),
  });
  solution.build(app, resolved.settings);
  // Without `monitoring.alerting` no AlertmanagerConfig: the cluster's Alertmanager routes the alerts as it does today.
  const routing = alerting ? new AlertRouting(app.appChart, 'alertRouting', alerting) : undefined;
  if (resolved.settings.secretManager) {
    const secrets = referencedSecretKeys(app);
    // The AlertmanagerConfig's Secrets are read by the operator, not by a pod: add them by hand.
    for (const ref of routing?.secretKeyRefs ?? []) {
      if (!secrets.has(ref.name)) secrets.set(ref.name, new Set());
      secrets.get(ref.name)!.add(ref.key);
    }
    new SecretManagerSync(app.dataChart, 'secretManager', {
      ...resolved.settings.secretManager,
      secrets,
      defaultRemoteKeyPrefix: `${resolved.solution}/${resolved.environment}`,
    });
  }
  Policies.enforce(app);
  // Argo CD applies the environment in waves: namespace and policies, data, app, then monitors and ingress.
  stampSyncWaves(app);
  return app;
}
