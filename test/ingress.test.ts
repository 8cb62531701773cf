/** Ingress with per-environment hosts and optional TLS (R8, lib/ingress.ts). */
import { Testing } from 'cdk8s';
import { ApiService } from '../lib/api-service';
import { AppConfig } from '../lib/app-config';
import { AppIngress, AppIngressProps } from '../lib/ingress';

type K8sObject = Record<string, any>;

function build(options: Partial<Omit<AppIngressProps, 'backend'>> = {}, id = 'ingress') {
  const chart = Testing.chart();
  const config = new AppConfig(chart, 'application', { settings: {}, properties: {} });
  const api = new ApiService(chart, 'api', {
    config,
    image: { repository: 'registry.example.com/real-estate/api', tag: '1.0.0' },
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
  });
  const ingress = new AppIngress(chart, id, { hosts: ['api.real-estate.example.com'], backend: api.endpoint, ...options });
  return { api, ingress, objects: Testing.synth(chart) };
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

const ingressOf = (objects: K8sObject[], name = 'ingress') => find(objects, 'Ingress', name);
const toApi = { service: { name: 'api', port: { number: 80 } } };

describe('AppIngress', () => {
  test('is a networking.k8s.io/v1 Ingress of class nginx by default', () => {
    const ingress = ingressOf(build().objects);
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress.spec.ingressClassName).toBe('nginx');
  });

  test('routes / of every host, one rule per host, with pathType Prefix to the backend Service port', () => {
    const { ingress, objects } = build({ hosts: ['api.real-estate.example.com', 'www.real-estate.example.com'] });
    expect(ingressOf(objects).spec.rules).toEqual([
      { host: 'api.real-estate.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: toApi }] } },
      { host: 'www.real-estate.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: toApi }] } },
    ]);
    expect(ingress.hosts).toEqual(['api.real-estate.example.com', 'www.real-estate.example.com']);
  });

  test('the backend port is the Service port, not the container port', () => {
    const chart = Testing.chart();
    const config = new AppConfig(chart, 'application', { settings: {}, properties: {} });
    const api = new ApiService(chart, 'api', {
      config,
      servicePort: 8000,
      image: { repository: 'registry.example.com/logistics/api', tag: '1.0.0' },
      resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
    });
    new AppIngress(chart, 'ingress', { hosts: ['logistics.example.com'], backend: api.endpoint });
    const objects = Testing.synth(chart);
    expect(ingressOf(objects).spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'api', port: { number: 8000 } } });
    expect(find(objects, 'Service', 'api').spec.ports.map((p: K8sObject) => p.port)).toContain(8000);
  });

  test('no TLS unless given', () => {
    expect(ingressOf(build().objects).spec).not.toHaveProperty('tls');
  });

  test('TLS covers every host with the given certificate Secret', () => {
    const spec = ingressOf(build({
      hosts: ['api.real-estate.example.com', 'www.real-estate.example.com'],
      tls: { secretName: 'real-estate-api-tls' },
    }).objects).spec;
    expect(spec.tls).toEqual([{ hosts: ['api.real-estate.example.com', 'www.real-estate.example.com'], secretName: 'real-estate-api-tls' }]);
  });

  test('another ingress class', () => {
    expect(ingressOf(build({ ingressClassName: 'traefik' }).objects).spec.ingressClassName).toBe('traefik');
  });

  test('name defaults to the id; an explicit name wins', () => {
    ingressOf(build({}, 'public').objects, 'public');
    ingressOf(build({ name: 'api-public' }).objects, 'api-public');
  });

  test('carries the backend\'s labels', () => {
    const { objects } = build();
    expect(ingressOf(objects).metadata.labels).toEqual(find(objects, 'Service', 'api').metadata.labels);
  });

  test('the backend NetworkPolicy admits the ingress controller namespace on the container port', () => {
    const ingress = find(build().objects, 'NetworkPolicy', 'api').spec.ingress;
    // Besides Prometheus, which scrapes the same port (the metrics contract).
    expect(ingress).toContainEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
      ports: [{ protocol: 'TCP', port: 8000 }],
    });
    expect(ingress.filter((rule: any) => rule.from.some((peer: any) => !peer.podSelector))).toHaveLength(1);
  });

  test('another controller namespace is the one admitted', () => {
    const ingress = find(build({ controllerNamespace: 'traefik' }).objects, 'NetworkPolicy', 'api').spec.ingress;
    expect(ingress.map((rule: any) => rule.from)).toContainEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } } }]);
    expect(JSON.stringify(ingress)).not.toContain('ingress-nginx');
  });

  test('a wildcard host is allowed', () => {
    const { objects } = build({ hosts: ['*.example.com'], tls: { secretName: 'wildcard-tls' } });
    expect(ingressOf(objects).spec.rules[0].host).toBe('*.example.com');
    expect(ingressOf(objects).spec.tls[0].hosts).toEqual(['*.example.com']);
  });

  test('with TLS, the ingress controller may reach cert-manager\'s HTTP-01 solver pods on 8089, and they reach nothing', () => {
    const { ingress, objects } = build({ tls: { secretName: 'real-estate-api-tls' } });
    const policy = find(objects, 'NetworkPolicy', 'ingress-acme-http01-solver');
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } },
      // Ingress only: the namespace's default deny keeps the solvers' egress closed.
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
        ports: [{ protocol: 'TCP', port: 8089 }],
      }],
    });
    expect(Object.keys(policy.metadata.labels).filter((k) => k.startsWith('app.kubernetes.io/'))).toHaveLength(6);
    expect(ingress.acmeSolverPolicy).toBeDefined();
    const traefik = build({ tls: { secretName: 'real-estate-api-tls' }, controllerNamespace: 'traefik' }).objects;
    expect(find(traefik, 'NetworkPolicy', 'ingress-acme-http01-solver').spec.ingress[0].from)
      .toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } } }]);
  });

  test('no solver policy without TLS, or when HTTP-01 is switched off', () => {
    const solverPolicies = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name.endsWith('acme-http01-solver'));
    expect(solverPolicies(build().objects)).toEqual([]);
    const off = build({ tls: { secretName: 'real-estate-api-tls', acmeHttp01: false } });
    expect(solverPolicies(off.objects)).toEqual([]);
    expect(off.ingress.acmeSolverPolicy).toBeUndefined();
  });

  test.each<[string, Partial<AppIngressProps>, RegExp]>([
    ['no hosts', { hosts: [] },
      /^test: ingress\.hosts must be a list of at least one host name but \[\] was provided$/],
    ['duplicate hosts', { hosts: ['api.example.com', 'www.example.com', 'api.example.com'] },
      /^test: ingress\.hosts must be a list without duplicates but "api\.example\.com" was provided$/],
    ['an invalid host', { hosts: ['api.example.com', 'logistics_prod.example.com'] },
      /^test: ingress\.hosts\[1\] must be a fully qualified DNS host name such as api\.example\.com but "logistics_prod\.example\.com" was provided$/],
    ['a host without a domain', { hosts: ['api'] },
      /^test: ingress\.hosts\[0\] must be a fully qualified DNS host name .* but "api" was provided$/],
    ['a URL instead of a host', { hosts: ['https://api.example.com'] },
      /^test: ingress\.hosts\[0\] must be a fully qualified DNS host name .* but "https:\/\/api\.example\.com" was provided$/],
    ['a TLS Secret name with a space', { tls: { secretName: 'my cert' } },
      /^test: ingress\.tls\.secretName must be a DNS subdomain name .* but "my cert" was provided$/],
    ['an ingress class with capitals', { ingressClassName: 'Nginx' },
      /^test: ingress\.ingressClassName must be a DNS subdomain name .* but "Nginx" was provided$/],
    ['a name that is not a DNS label', { name: 'API' },
      /^test: ingress\.name must be a DNS label .* but "API" was provided$/],
  ])('refuses %s', (_what, options, message) => {
    expect(() => build(options)).toThrow(message);
  });
});
