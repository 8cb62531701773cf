import { validateImage } from '../images';
import { validateResources } from '../resources';
import { ProblemCollector, Validator } from '../validation';
import { AppTierSettings, ServiceSettings, WebSettings } from './app-tier-settings';
import { checkAlertRouting } from '../observability/alerting/alert-routing-checks';
import { schemaProblems, SettingsTypeName } from './settings-schema';
import { namespaceOf } from './solution-definition';

export type { SettingsTypeName } from './settings-schema';

/**
 * Every problem of one environment's resolved settings, one line each, in the form
 * `<solution>/<env>: <field> must be ... but <value> was provided`: first what the schema
 * generated from the settings type finds (unknown, missing or mistyped fields), then the values
 * of the application tier, each checked even when another one is bad. A field the schema refused
 * is not checked again, so a field is reported once and a check never reads a malformed section.
 */
export function checkSettings(type: SettingsTypeName, settings: AppTierSettings, solution: string, environment: string): string[] {
  const where = `${solution}/${environment}`;
  const structural = schemaProblems(type, settings, where);
  const problems = new ProblemCollector();
  problems.add(...structural.map((p) => p.message));
  const v = new Validator(where);
  // An unknown field leaves the section readable: only the other problems stop checks there.
  const blocking = structural.filter((p) => !p.unknownField);
  const check: Check = (field, run) => {
    if (!blocking.some((p) => related(p.field, field))) problems.check(run);
  };

  check('namespace', () => v.namespace('namespace', namespaceOf({ solution, environment, settings })));
  check('production', () => {
    if (settings.production && !settings.secretManager) {
      v.fail('secretManager', 'set where production is true (production Secrets come from the secret manager)', settings.secretManager);
    }
  });
  check('monitoring.alerting', () => checkAlertRouting(v, settings.production, settings.monitoring?.alerting));
  if (settings.secretManager) check('secretManager.storeName', () => v.dnsSubdomain('secretManager.storeName', settings.secretManager!.storeName));

  const dns = settings.dns;
  if (dns?.kubeDnsNamespace !== undefined) check('dns.kubeDnsNamespace', () => v.dnsLabel('dns.kubeDnsNamespace', dns.kubeDnsNamespace!));
  if (typeof dns?.nodeLocalDnsCache === 'string') check('dns.nodeLocalDnsCache', () => v.ipv4Address('dns.nodeLocalDnsCache', dns.nodeLocalDnsCache as string));
  (dns?.cidrs ?? []).forEach((cidr, i) => check(`dns.cidrs[${i}]`, () => v.ipv4Cidr(`dns.cidrs[${i}]`, cidr)));

  const application = settings.application;
  check('application.version', () => v.semverTag('application.version', application.version));
  check('application.displayName', () => v.nonEmpty('application.displayName', application.displayName));
  check('application.release', () => {
    if (application.release.grayPercentage !== undefined) v.integer('application.release.grayPercentage', application.release.grayPercentage, 0, 100);
  });
  for (const [experiment, percent] of Object.entries(application?.release?.abTests ?? {})) {
    check(`application.release.abTests.${experiment}`, () => v.integer(`application.release.abTests.${experiment}`, percent, 0, 100));
  }

  checkService(v, 'api', settings.api, check);
  check('api.servicePort', () => {
    if (settings.api.servicePort !== undefined) v.integer('api.servicePort', settings.api.servicePort, 1, 65535);
  });
  for (const [name, ref] of Object.entries(settings.api?.secretEnv ?? {})) {
    check(`api.secretEnv.${name}`, () => {
      v.envVarName(`api.secretEnv.${name}`, name);
      v.secretKeyRef(`api.secretEnv.${name}`, ref);
    });
  }
  // The web tier is not every solution's, but AppTier builds one wherever the settings have it.
  const web = (settings as AppTierSettings & { readonly web?: WebSettings }).web;
  if (web) checkService(v, 'web', web, check);

  check('models', () => {
    if (Object.keys(settings.models).length === 0) v.fail('models', 'at least one model service', settings.models);
  });
  for (const [model, service] of Object.entries(settings.models ?? {})) {
    check(`models.${model}`, () => v.dnsLabel(`models.${model}`, model));
    checkService(v, `models.${model}`, service, check);
  }

  const ingress = settings.ingress;
  if (ingress) {
    check('ingress.hosts', () => {
      if (ingress.hosts.length === 0) v.fail('ingress.hosts', 'a list of at least one host name', ingress.hosts);
      const duplicate = ingress.hosts.find((h, i) => ingress.hosts.indexOf(h) !== i);
      if (duplicate) v.fail('ingress.hosts', 'a list without duplicates', duplicate);
    });
    (Array.isArray(ingress.hosts) ? ingress.hosts : []).forEach((host, i) => check(`ingress.hosts[${i}]`, () => v.hostname(`ingress.hosts[${i}]`, host)));
    if (ingress.tls) check('ingress.tls.secretName', () => v.dnsSubdomain('ingress.tls.secretName', ingress.tls!.secretName));
    if (ingress.ingressClassName !== undefined) check('ingress.ingressClassName', () => v.dnsSubdomain('ingress.ingressClassName', ingress.ingressClassName!));
  }
  return [...problems.problems];
}

/**
 * Image, resources and the replica count of a stateless tier. With `autoscaling` the
 * HorizontalPodAutoscaler owns the count and `replicas` would be silently ignored: refused.
 */
function checkService(v: Validator, field: string, service: ServiceSettings, check: Check): void {
  // Missing or not an object: the schema has said so.
  if (typeof service !== 'object' || service === null) return;
  check(`${field}.image`, () => validateImage(v, `${field}.image`, service.image));
  check(`${field}.resources`, () => validateResources(v, `${field}.resources`, service.resources));
  check(`${field}.replicas`, () => {
    if (service.autoscaling && service.replicas !== undefined) {
      v.fail(`${field}.replicas`, 'unset when autoscaling is set (the HorizontalPodAutoscaler owns the count: set autoscaling.minReplicas)', service.replicas);
    }
    if (!service.autoscaling && service.replicas === undefined) {
      v.fail(`${field}.replicas`, 'set to an integer between 1 and 100 when autoscaling is not set', service.replicas);
    }
    if (!service.autoscaling) v.integer(`${field}.replicas`, service.replicas!, 1, 100);
  });
  const scaling = service.autoscaling;
  if (!scaling) return;
  const a = v.nested(`${field}.autoscaling`);
  check(`${field}.autoscaling.minReplicas`, () => a.integer('minReplicas', scaling.minReplicas, 1, 1000));
  check(`${field}.autoscaling.maxReplicas`, () => {
    a.integer('maxReplicas', scaling.maxReplicas, 1, 1000);
    if (scaling.maxReplicas < scaling.minReplicas) a.fail('maxReplicas', `at least minReplicas (${scaling.minReplicas})`, scaling.maxReplicas);
  });
  if (scaling.targetCpuUtilizationPercent !== undefined) {
    check(`${field}.autoscaling.targetCpuUtilizationPercent`, () => a.integer('targetCpuUtilizationPercent', scaling.targetCpuUtilizationPercent!, 1, 100));
  }
  if (scaling.targetMemoryUtilizationPercent !== undefined) {
    check(`${field}.autoscaling.targetMemoryUtilizationPercent`, () => a.integer('targetMemoryUtilizationPercent', scaling.targetMemoryUtilizationPercent!, 1, 100));
  }
}

/** Runs the check of `field` unless the schema found `field`, or a section around or inside it, malformed. */
type Check = (field: string, run: () => unknown) => void;

/** Whether a check of `field` would read what the schema refused: the same field, one inside it, or one around it. */
function related(refused: string, field: string): boolean {
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
  return inside(refused, field) || inside(field, refused);
}
