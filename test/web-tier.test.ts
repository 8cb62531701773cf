/** The web tier in front of the API (R7, lib/web-tier.ts). */
import { Testing } from 'cdk8s';
import { ApiService } from '../lib/api-service';
import { AppConfig } from '../lib/app-config';
import { ServiceExposure } from '../lib/stateless-service';
import { WEB_CONTAINER_PORT, WebTier, WebTierProps } from '../lib/web-tier';

type K8sObject = Record<string, any>;

const RESOURCES = { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } };

function build(options: Partial<Omit<WebTierProps, 'api'>> = {}, apiServicePort?: number) {
  const chart = Testing.chart();
  const config = new AppConfig(chart, 'application', { settings: {}, properties: {} });
  const api = new ApiService(chart, 'api', {
    config,
    image: { repository: 'registry.example.com/logistics/api', tag: '1.0.0' },
    resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
    servicePort: apiServicePort,
  });
  const web = new WebTier(chart, 'web', {
    image: { repository: 'registry.example.com/logistics/web', tag: '1.0.0' },
    resources: RESOURCES,
    api: api.endpoint,
    ...options,
  });
  return { api, web, objects: Testing.synth(chart) };
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

const webContainer = (objects: K8sObject[]) => find(objects, 'Deployment', 'web').spec.template.spec.containers[0];
const selectorOf = (name: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'app' } } });

describe('WebTier', () => {
  test('is behind a LoadBalancer Service on port 80 by default', () => {
    const service = find(build().objects, 'Service', 'web');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('can sit behind an Ingress instead (ClusterIP)', () => {
    const { objects } = build({ exposure: ServiceExposure.CLUSTER_IP });
    expect(find(objects, 'Service', 'web').spec.type).toBe('ClusterIP');
    expect(find(objects, 'NetworkPolicy', 'web').spec.ingress).toEqual([]);
  });

  test('the container listens on 8080 named http, component web', () => {
    const { objects } = build();
    expect(WEB_CONTAINER_PORT).toBe(8080);
    expect(webContainer(objects).ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(find(objects, 'Deployment', 'web').metadata.labels['app.kubernetes.io/component']).toBe('web');
  });

  test('API_UPSTREAM is the API Service host and port', () => {
    expect(webContainer(build().objects).env).toEqual([{ name: 'API_UPSTREAM', value: 'http://api:80' }]);
    expect(webContainer(build({}, 8000).objects).env).toEqual([{ name: 'API_UPSTREAM', value: 'http://api:8000' }]);
  });

  test('extra env comes after API_UPSTREAM', () => {
    const env = webContainer(build({ env: [{ name: 'NGINX_WORKERS', value: '2' }] }).objects).env;
    expect(env.map((e: K8sObject) => e.name)).toEqual(['API_UPSTREAM', 'NGINX_WORKERS']);
  });

  test('probes ask nginx /healthz on http, independent of the API', () => {
    const c = webContainer(build().objects);
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
  });

  test('nginx gets writable emptyDirs for /tmp, its cache and its pid file; the root stays read-only', () => {
    const { objects } = build();
    const c = webContainer(objects);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    const paths = c.volumeMounts.map((m: K8sObject) => m.mountPath).sort();
    expect(paths).toEqual(['/tmp', '/var/cache/nginx', '/var/run']);
    const volumes = find(objects, 'Deployment', 'web').spec.template.spec.volumes;
    const sizeOf = (path: string) => volumes.find((v: K8sObject) => v.name === c.volumeMounts.find((m: K8sObject) => m.mountPath === path).name).emptyDir.sizeLimit;
    expect([sizeOf('/tmp'), sizeOf('/var/cache/nginx'), sizeOf('/var/run')]).toEqual(['64Mi', '256Mi', '1Mi']);
  });

  test('the web pods may reach the API pods on 8000, and nothing else but DNS', () => {
    const egress = find(build().objects, 'NetworkPolicy', 'web').spec.egress;
    expect(egress).toHaveLength(2);
    expect(egress[1]).toEqual({ to: [selectorOf('api')], ports: [{ protocol: 'TCP', port: 8000 }] });
  });

  test('the API pods accept the web pods on 8000 (beside Prometheus\' scrapes)', () => {
    const ingress = find(build().objects, 'NetworkPolicy', 'api').spec.ingress;
    expect(ingress).toContainEqual({ from: [selectorOf('web')], ports: [{ protocol: 'TCP', port: 8000 }] });
    expect(ingress).toHaveLength(2);
  });

  test('nginx has no Prometheus endpoint: the web tier has no PodMonitor and admits no Prometheus', () => {
    const { web, objects } = build();
    expect(objects.filter((o) => o.kind === 'PodMonitor').map((o) => o.metadata.name)).toEqual(['api']);
    expect(web.metricsEndpoints).toEqual([]);
    expect(web.appMetrics).toBeUndefined();
    expect(JSON.stringify(find(objects, 'NetworkPolicy', 'web').spec.ingress)).not.toContain('prometheus');
  });

  test('the web pods accept clients of the load balancer on 8080', () => {
    const ingress = find(build().objects, 'NetworkPolicy', 'web').spec.ingress;
    expect(ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
  });

  test('the connection is recorded on both workloads', () => {
    const { api, web } = build();
    expect(web.egress).toEqual([{ peer: api, port: 8000 }]);
    expect(api.ingress.filter((c) => c.peer === web)).toEqual([{ peer: web, port: 8000 }]);
  });

  test('two web servers by default, with a PDB', () => {
    const { objects } = build();
    expect(find(objects, 'Deployment', 'web').spec.replicas).toBe(2);
    find(objects, 'PodDisruptionBudget', 'web');
  });

  test('bad input names the web field', () => {
    expect(() => build({ resources: { requests: { cpu: '250m', memory: '1GB' }, limits: RESOURCES.limits } })).toThrow(
      /^test: web\.resources\.requests\.memory must be a memory quantity such as 512Mi or 2Gi but "1GB" was provided$/,
    );
  });
});
