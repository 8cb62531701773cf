import { stringify } from 'yaml';
import { readAsset } from '../../assets';
import { ConfigError } from '../../validation';

/** One rendered Kubernetes object, as in dist/<solution>/<environment>/. */
export type ManifestObject = Record<string, any>;

/** The stores a local stack runs, recognised by the image repository of their main container. */
export enum StoreKind {
  MYSQL = 'mysql',
  POSTGRES = 'postgres',
  REDIS = 'redis',
  MILVUS = 'milvus',
  ETCD = 'etcd',
  MINIO = 'minio',
  /** Milvus' message queue in cluster mode; a standalone Milvus uses its own RocksMQ instead. */
  KAFKA = 'kafka',
}

const STORE_IMAGES: Readonly<Record<string, StoreKind>> = {
  'mysql': StoreKind.MYSQL,
  'postgres': StoreKind.POSTGRES,
  'redis': StoreKind.REDIS,
  'milvusdb/milvus': StoreKind.MILVUS,
  'quay.io/coreos/etcd': StoreKind.ETCD,
  'minio/minio': StoreKind.MINIO,
  'apache/kafka': StoreKind.KAFKA,
};

/** The application tiers the local stack runs (`app.kubernetes.io/component`), the API first. */
export const APP_COMPONENTS = ['api', 'web', 'ai'] as const;
/** App-tier components whose ports are published on 127.0.0.1, for a browser or curl. */
const PUBLISHED_COMPONENTS = new Set(['api', 'web']);

/** The one-shot service that makes the single Redis a one-node cluster. */
export const REDIS_CLUSTER_INIT_SERVICE = 'redis-cluster-init';
const REDIS_CLUSTER_INIT_SCRIPT = 'lib/ops/compose/redis-cluster-init.sh';

/** A local secret: one `.env` variable standing for one key of one Kubernetes Secret. */
export interface LocalSecret {
  /** The `.env` variable: the name the first reader (the API first) gives it. */
  readonly variable: string;
  readonly secret: string;
  readonly key: string;
  /** Compose services that read it. */
  readonly readers: readonly string[];
}

export interface ComposeFileProps {
  readonly solution: string;
  readonly environment: string;
  /** The environment's rendered objects: every object of `dist/<solution>/<environment>/`. */
  readonly objects: readonly ManifestObject[];
  /**
   * The command that writes the file, named in its header.
   * @default `npm run compose -- <solution> --env <environment>`
   */
  readonly command?: string;
}

/** A docker compose project for local development, derived from one environment's manifests. */
export interface ComposeProject {
  /** The compose file as data (what {@link yaml} renders). */
  readonly document: Record<string, any>;
  /** The compose file. */
  readonly yaml: string;
  /** Every `.env` variable the file interpolates, in the order of the file. */
  readonly secrets: readonly LocalSecret[];
  /** `.env.example`: every variable with an empty value, each with the Secret key it stands for. */
  readonly envExample: string;
}

interface Workload {
  readonly kind: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly pod: Record<string, any>;
  readonly containers: readonly Record<string, any>[];
  readonly initContainers: readonly Record<string, any>[];
}

interface ServiceTarget {
  /** The compose service behind the Kubernetes Service. */
  readonly service: string;
  /** Service port -> container port. */
  readonly ports: ReadonlyMap<number, number>;
}

/** `mysql:8.0.39` -> `mysql`; `quay.io/coreos/etcd:v3.5.16@sha256:...` -> `quay.io/coreos/etcd`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** A literal for compose: `$` is interpolation there, `$$` a dollar. */
function literal(value: string): string {
  return value.replace(/\$/g, '$$$$');
}

/**
 * Builds the local stack of one environment from its rendered manifests: the app tier (API, web,
 * AI services) with their images, ports and every environment variable they read, in-cluster
 * hosts rewritten to compose service names; the stores with the same images, single instances
 * with healthchecks and named volumes; every Secret key as a `.env` variable.
 * @throws ConfigError naming the object and field the local stack cannot express
 */
export function composeProject(props: ComposeFileProps): ComposeProject {
  return new ComposeBuilder(props).build();
}

class ComposeBuilder {
  private readonly where: string;
  private readonly workloads: Workload[];
  private readonly configMaps = new Map<string, Record<string, string>>();
  private readonly targets = new Map<string, ServiceTarget>();
  private readonly secrets = new Map<string, { variable: string; secret: string; key: string; readers: string[] }>();
  private readonly services: Record<string, Record<string, any>> = {};
  private readonly volumes: Record<string, Record<string, never>> = {};
  private readonly configs: Record<string, { content: string }> = {};
  private readonly storeNotes: string[] = [];
  private readonly stores = new Map<StoreKind, Workload>();

  constructor(private readonly props: ComposeFileProps) {
    this.where = `${props.solution}/${props.environment}`;
    this.workloads = props.objects
      .filter((o) => ['Deployment', 'StatefulSet', 'Rollout'].includes(o.kind) && o.spec?.template?.spec)
      .map((o) => ({
        kind: o.kind,
        name: o.metadata.name,
        labels: o.spec.template.metadata?.labels ?? {},
        pod: o.spec.template.spec,
        containers: o.spec.template.spec.containers ?? [],
        initContainers: o.spec.template.spec.initContainers ?? [],
      }));
    for (const o of props.objects) if (o.kind === 'ConfigMap') this.configMaps.set(o.metadata.name, o.data ?? {});
    for (const w of this.workloads) {
      const kind = this.storeKindOf(w);
      // The MySQL primary, not a replica, is the one local MySQL.
      if (kind && (!this.stores.has(kind) || this.envValue(w, 'MYSQL_ROLE') === 'primary')) this.stores.set(kind, w);
    }
  }

  public build(): ComposeProject {
    this.mapServices();
    const apps = APP_COMPONENTS.flatMap((c) => this.workloads.filter((w) => w.labels['app.kubernetes.io/component'] === c));
    if (!apps.some((w) => w.labels['app.kubernetes.io/component'] === 'api')) {
      throw new ConfigError(`${this.where}: the local stack needs the API, but no Deployment or Rollout has app.kubernetes.io/component=api`);
    }
    // The API first: its variable names become the .env names of the Secrets it shares with stores.
    for (const w of apps) this.addApp(w);
    this.addStores();
    for (const [name, service] of Object.entries(this.services)) {
      if (service.depends_on) {
        for (const dep of Object.keys(service.depends_on)) {
          if (!this.services[dep]) throw new ConfigError(`${this.where}: ${name} talks to ${dep}, which the local stack does not run`);
        }
      }
    }
    const document: Record<string, any> = {
      name: `${this.props.solution}-${this.props.environment}`,
      services: this.services,
      volumes: this.volumes,
      ...(Object.keys(this.configs).length > 0 ? { configs: this.configs } : {}),
    };
    const secrets = [...this.secrets.values()].map((s) => ({ ...s, readers: [...s.readers] }));
    const command = this.props.command ?? `npm run compose -- ${this.props.solution} --env ${this.props.environment}`;
    const header = [
      `# Local development stack of ${this.where}, generated by \`${command}\``,
      `# from the same configuration as dist/${this.where}/: do not edit, run that again.`,
      '# Secrets come from .env beside this file (see .env.example); docker compose refuses to start without them.',
    ].join('\n');
    return {
      document,
      yaml: `${header}\n${stringify(document, { lineWidth: 0 })}`,
      secrets,
      envExample: this.envExample(secrets, command),
    };
  }

  private storeKindOf(w: Workload): StoreKind | undefined {
    for (const c of w.containers) {
      const kind = STORE_IMAGES[imageRepository(c.image)];
      if (kind) return kind;
    }
    return undefined;
  }

  /** The compose service a workload becomes, if the local stack runs it. */
  private composeNameOf(w: Workload): string | undefined {
    const kind = this.storeKindOf(w);
    if (kind) return kind === StoreKind.KAFKA ? undefined : kind;
    return (APP_COMPONENTS as readonly string[]).includes(w.labels['app.kubernetes.io/component']) ? w.name : undefined;
  }

  /** Every Kubernetes Service -> the compose service of the pods it selects, and its port mapping. */
  private mapServices(): void {
    for (const svc of this.props.objects.filter((o) => o.kind === 'Service')) {
      const selector: Record<string, string> = svc.spec?.selector ?? {};
      if (Object.keys(selector).length === 0) continue;
      const selected = this.workloads.filter((w) => Object.entries(selector).every(([k, v]) => w.labels[k] === v));
      const workload = selected.find((w) => this.composeNameOf(w));
      if (!workload) continue;
      const ports = new Map<number, number>();
      for (const p of svc.spec.ports ?? []) {
        const target = p.targetPort ?? p.port;
        const containerPort = typeof target === 'number'
          ? target
          : workload.containers.flatMap((c) => c.ports ?? []).find((cp: any) => cp.name === target)?.containerPort;
        if (containerPort !== undefined) ports.set(p.port, containerPort);
      }
      this.targets.set(svc.metadata.name, { service: this.composeNameOf(workload)!, ports });
    }
  }

  /** `mysql-primary`, `http://demand-forecast:80/x`, `redis.logistics-dev.svc:6379` -> the compose host (and container port). */
  private rewriteHost(value: string): { value: string; target?: ServiceTarget } {
    const m = /^([a-z][a-z0-9+.-]*:\/\/)?([a-z0-9-]+)((?:\.[a-z0-9-]+)*)(?::(\d+))?(\/.*)?$/.exec(value);
    if (!m) return { value };
    const [, scheme = '', host, domain, port, rest = ''] = m;
    const target = this.targets.get(host);
    const namespace = this.namespace();
    const inCluster = domain === '' || [`.${namespace}`, `.${namespace}.svc`, `.${namespace}.svc.cluster.local`].includes(domain);
    if (!target || !inCluster) return { value };
    const mappedPort = port === undefined ? '' : `:${target.ports.get(Number(port)) ?? port}`;
    return { value: `${scheme}${target.service}${mappedPort}${rest}`, target };
  }

  private namespace(): string {
    return this.props.objects.find((o) => o.kind === 'Namespace')?.metadata?.name ?? '';
  }

  private secretVariable(ref: { name: string; key: string }, preferred: string, reader: string): string {
    const id = `${ref.name}/${ref.key}`;
    let entry = this.secrets.get(id);
    if (!entry) {
      const taken = new Set([...this.secrets.values()].map((s) => s.variable));
      const variable = taken.has(preferred) ? `${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_') : preferred;
      entry = { variable, secret: ref.name, key: ref.key, readers: [] };
      this.secrets.set(id, entry);
    }
    if (!entry.readers.includes(reader)) entry.readers.push(reader);
    return entry.variable;
  }

  private interpolate(ref: { name: string; key: string }, preferred: string, reader: string): string {
    const variable = this.secretVariable(ref, preferred, reader);
    return `\${${variable}:?${variable} is not set: copy .env.example to .env and fill it in}`;
  }

  /** The environment of an app container, as compose values, and the compose services it talks to. */
  private appEnvironment(w: Workload, container: Record<string, any>, service: string): { environment: Record<string, string>; talksTo: Set<string> } {
    const raw = new Map<string, { literal?: string; compose?: string }>();
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) {
        const data = this.configMaps.get(source.configMapRef.name);
        if (!data) throw new ConfigError(`${this.where}: ${w.kind} ${w.name} reads ConfigMap ${source.configMapRef.name}, which is not among the objects`);
        for (const [k, v] of Object.entries(data)) raw.set(`${source.prefix ?? ''}${k}`, { literal: v });
      } else {
        throw new ConfigError(`${this.where}: ${w.kind} ${w.name} reads every key of Secret ${source.secretRef?.name} (envFrom); the local stack needs each key named (env with secretKeyRef)`);
      }
    }
    for (const e of container.env ?? []) {
      if (e.value !== undefined) raw.set(e.name, { literal: e.value });
      else if (e.valueFrom?.secretKeyRef) raw.set(e.name, { compose: this.interpolate(e.valueFrom.secretKeyRef, e.name, service) });
      else if (e.valueFrom?.configMapKeyRef) {
        const value = this.configMaps.get(e.valueFrom.configMapKeyRef.name)?.[e.valueFrom.configMapKeyRef.key];
        if (value === undefined) throw new ConfigError(`${this.where}: ${w.kind} ${w.name} env ${e.name} reads ConfigMap ${e.valueFrom.configMapKeyRef.name} key ${e.valueFrom.configMapKeyRef.key}, which is not among the objects`);
        raw.set(e.name, { literal: value });
      } else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') raw.set(e.name, { literal: service });
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') raw.set(e.name, { literal: this.namespace() });
      else throw new ConfigError(`${this.where}: ${w.kind} ${w.name} env ${e.name} must be a value, a Secret key, a ConfigMap key or the pod's name or namespace for the local stack, but ${JSON.stringify(e.valueFrom)} was provided`);
    }
    const talksTo = new Set<string>();
    const hostTargets = new Map<string, ServiceTarget>();
    const environment: Record<string, string> = {};
    for (const [name, v] of raw) {
      if (v.compose !== undefined) {
        environment[name] = v.compose;
        continue;
      }
      const rewritten = this.rewriteHost(v.literal!);
      if (rewritten.target) {
        talksTo.add(rewritten.target.service);
        if (name.endsWith('_HOST')) hostTargets.set(name.slice(0, -'_HOST'.length), rewritten.target);
      }
      // $(NAME) of a variable defined before it is expanded by Kubernetes; compose does not.
      environment[name] = rewritten.value.split(/(\$\([A-Za-z_][A-Za-z0-9_]*\))/).map((part) => {
        const ref = /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(part);
        return ref && environment[ref[1]] !== undefined ? environment[ref[1]] : literal(part);
      }).join('');
    }
    // DB_PORT beside DB_HOST: a Service port becomes the container port the compose service listens on.
    for (const [prefix, target] of hostTargets) {
      const port = raw.get(`${prefix}_PORT`)?.literal;
      if (port !== undefined && /^\d+$/.test(port) && target.ports.has(Number(port))) environment[`${prefix}_PORT`] = String(target.ports.get(Number(port)));
    }
    talksTo.delete(service);
    return { environment, talksTo };
  }

  private addApp(w: Workload): void {
    const service = w.name;
    const container = w.containers[0];
    const { environment, talksTo } = this.appEnvironment(w, container, service);
    const component = w.labels['app.kubernetes.io/component'];
    const security = { ...(w.pod.securityContext ?? {}), ...(container.securityContext ?? {}) };
    const mounts = this.appMounts(w, container);
    const depends: Record<string, { condition: string }> = {};
    for (const dep of [...talksTo].sort()) {
      depends[dep] = { condition: this.isStore(dep) ? 'service_healthy' : 'service_started' };
    }
    this.services[service] = {
      image: container.image,
      ...(container.command ? { entrypoint: container.command.map(literal) } : {}),
      ...(container.args ? { command: container.args.map(literal) } : {}),
      environment,
      ...(PUBLISHED_COMPONENTS.has(component) ? { ports: (container.ports ?? []).map((p: any) => `127.0.0.1:${p.containerPort}:${p.containerPort}`) } : {}),
      ...(mounts.configs.length > 0 ? { configs: mounts.configs } : {}),
      ...(mounts.tmpfs.length > 0 ? { tmpfs: mounts.tmpfs } : {}),
      // As in the cluster: the image must run as this user on a read-only root file system.
      ...(security.runAsUser !== undefined ? { user: `${security.runAsUser}${security.runAsGroup !== undefined ? `:${security.runAsGroup}` : ''}` } : {}),
      ...(security.readOnlyRootFilesystem ? { read_only: true } : {}),
      ...(security.capabilities?.drop?.includes('ALL') ? { cap_drop: ['ALL'] } : {}),
      ...(security.allowPrivilegeEscalation === false ? { security_opt: ['no-new-privileges:true'] } : {}),
      ...(Object.keys(depends).length > 0 ? { depends_on: depends } : {}),
    };
  }

  private isStore(service: string): boolean {
    return (Object.values(StoreKind) as string[]).includes(service);
  }

  /** ConfigMap volumes as compose configs (one file each), emptyDirs as tmpfs. */
  private appMounts(w: Workload, container: Record<string, any>): { configs: { source: string; target: string }[]; tmpfs: string[] } {
    const configs: { source: string; target: string }[] = [];
    const tmpfs: string[] = [];
    const volumes = new Map<string, any>((w.pod.volumes ?? []).map((v: any) => [v.name, v]));
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.get(mount.name);
      if (volume?.emptyDir) tmpfs.push(mount.mountPath);
      else if (volume?.configMap) {
        const data = this.configMaps.get(volume.configMap.name);
        if (!data) throw new ConfigError(`${this.where}: ${w.kind} ${w.name} mounts ConfigMap ${volume.configMap.name}, which is not among the objects`);
        const files: [string, string][] = mount.subPath
          ? [[mount.subPath, mount.mountPath]]
          : (volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }))).map((i: any) => [i.key, `${mount.mountPath}/${i.path}`]);
        for (const [key, target] of files) {
          const source = `${w.name}-${mount.name}-${key}`.replace(/[^A-Za-z0-9._-]/g, '-');
          this.configs[source] = { content: literal(data[key]) };
          configs.push({ source, target });
        }
      } else {
        throw new ConfigError(`${this.where}: ${w.kind} ${w.name} mounts volume ${mount.name} at ${mount.mountPath}; the local stack runs only emptyDir and ConfigMap volumes, but ${JSON.stringify(volume)} was provided`);
      }
    }
    return { configs, tmpfs };
  }

  private envEntry(w: Workload, name: string): Record<string, any> | undefined {
    for (const c of [...w.initContainers, ...w.containers]) {
      const e = (c.env ?? []).find((x: any) => x.name === name);
      if (e) return e;
    }
    return undefined;
  }

  private envValue(w: Workload, name: string): string | undefined {
    return this.envEntry(w, name)?.value;
  }

  private requiredValue(w: Workload, name: string): string {
    const value = this.envValue(w, name);
    if (value === undefined) throw new ConfigError(`${this.where}: ${w.kind} ${w.name} must set env ${name} for the local stack, but it has no such value`);
    return value;
  }

  private secretOf(w: Workload, name: string, service: string, preferred = name): string {
    const ref = this.envEntry(w, name)?.valueFrom?.secretKeyRef;
    if (!ref) throw new ConfigError(`${this.where}: ${w.kind} ${w.name} must read env ${name} from a Secret for the local stack, but it does not`);
    return this.interpolate(ref, preferred, service);
  }

  private imageOf(w: Workload, kind: StoreKind): string {
    return w.containers.find((c) => STORE_IMAGES[imageRepository(c.image)] === kind)!.image;
  }

  private volume(name: string): string {
    this.volumes[name] = {};
    return name;
  }

  private addStores(): void {
    const check = (test: string[], extra: Record<string, any> = {}) => ({ test, interval: '5s', timeout: '5s', retries: 30, ...extra });
    const mysql = this.stores.get(StoreKind.MYSQL);
    if (mysql) {
      const database = this.requiredValue(mysql, 'MYSQL_APP_DATABASE');
      const user = this.requiredValue(mysql, 'MYSQL_APP_USER');
      this.services.mysql = {
        image: this.imageOf(mysql, StoreKind.MYSQL),
        // The official image's first start creates the database and the application's user.
        environment: {
          MYSQL_ROOT_PASSWORD: this.secretOf(mysql, 'MYSQL_ROOT_PASSWORD', 'mysql'),
          MYSQL_DATABASE: literal(database),
          MYSQL_USER: literal(user),
          MYSQL_PASSWORD: this.secretOf(mysql, 'MYSQL_APP_PASSWORD', 'mysql'),
        },
        ports: ['127.0.0.1:3306:3306'],
        volumes: [`${this.volume('mysql-data')}:/var/lib/mysql`],
        // Over TCP: the first start's temporary server listens on the socket only, so healthy means initialised.
        healthcheck: check(['CMD-SHELL', 'MYSQL_PWD="$$MYSQL_ROOT_PASSWORD" mysqladmin ping -h 127.0.0.1 -u root --silent']),
      };
      this.storeNotes.push(`mysql (mysql:3306, database ${database}, user ${user}; one server where the cluster has a primary and replicas)`);
    }
    const postgres = this.stores.get(StoreKind.POSTGRES);
    if (postgres) {
      const database = this.requiredValue(postgres, 'POSTGRES_DB');
      const user = this.requiredValue(postgres, 'POSTGRES_USER');
      this.services.postgres = {
        image: this.imageOf(postgres, StoreKind.POSTGRES),
        environment: {
          POSTGRES_USER: literal(user),
          POSTGRES_PASSWORD: this.secretOf(postgres, 'POSTGRES_PASSWORD', 'postgres'),
          POSTGRES_DB: literal(database),
        },
        ports: ['127.0.0.1:5432:5432'],
        volumes: [`${this.volume('postgres-data')}:/var/lib/postgresql/data`],
        // Over TCP: the first start's temporary server listens on the socket only.
        healthcheck: check(['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"']),
      };
      this.storeNotes.push(`postgres (postgres:5432, database ${database}, user ${user}; one server where the cluster may have standbys)`);
    }
    const redis = this.stores.get(StoreKind.REDIS);
    if (redis) {
      const cluster = this.redisClusterMode();
      const password = this.secretOf(redis, 'REDIS_PASSWORD', 'redis');
      this.services.redis = {
        image: this.imageOf(redis, StoreKind.REDIS),
        // The password from the environment, not on the command line compose prints.
        command: ['sh', '-c', `exec redis-server --requirepass "$$REDIS_PASSWORD" --appendonly yes${cluster ? ' --cluster-enabled yes --cluster-config-file /data/nodes.conf' : ''}`],
        environment: { REDIS_PASSWORD: password, REDISCLI_AUTH: password },
        ports: ['127.0.0.1:6379:6379'],
        volumes: [`${this.volume('redis-data')}:/data`],
        // In cluster mode healthy means every slot served, which redis-cluster-init brings about.
        healthcheck: check(['CMD-SHELL', cluster
          ? 'redis-cli ping | grep -q PONG && redis-cli cluster info | grep -q "cluster_state:ok"'
          : 'redis-cli ping | grep -q PONG']),
      };
      if (cluster) {
        this.services[REDIS_CLUSTER_INIT_SERVICE] = {
          image: this.imageOf(redis, StoreKind.REDIS),
          command: ['sh', '-c', literal(readAsset(REDIS_CLUSTER_INIT_SCRIPT))],
          environment: { REDIS_HOST: 'redis', REDIS_PORT: '6379', REDISCLI_AUTH: password },
          // The script waits for Redis itself; redis' healthcheck waits for the script.
          depends_on: { redis: { condition: 'service_started' } },
        };
      }
      this.storeNotes.push(`redis (redis:6379${cluster ? `, cluster mode as in the cluster: one node with every slot, given by ${REDIS_CLUSTER_INIT_SERVICE}` : ''})`);
    }
    const milvus = this.stores.get(StoreKind.MILVUS);
    const etcd = this.stores.get(StoreKind.ETCD);
    const minio = this.stores.get(StoreKind.MINIO);
    if (milvus) {
      if (!etcd || !minio) throw new ConfigError(`${this.where}: Milvus needs its etcd and MinIO StatefulSets for the local stack, but ${!etcd ? 'etcd' : 'MinIO'} is not among the objects`);
      this.services.etcd = {
        image: this.imageOf(etcd, StoreKind.ETCD),
        command: ['etcd', '--name=etcd', '--data-dir=/etcd', '--listen-client-urls=http://0.0.0.0:2379', '--advertise-client-urls=http://etcd:2379'],
        volumes: [`${this.volume('etcd-data')}:/etcd`],
        // Exec form: the etcd image has no shell.
        healthcheck: check(['CMD', 'etcdctl', 'endpoint', 'health']),
      };
      const accessKey = this.secretOf(minio, 'MINIO_ROOT_USER', 'minio');
      const secretKey = this.secretOf(minio, 'MINIO_ROOT_PASSWORD', 'minio');
      this.services.minio = {
        image: this.imageOf(minio, StoreKind.MINIO),
        command: ['server', '/data', '--address=:9000'],
        environment: { MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey },
        volumes: [`${this.volume('minio-data')}:/data`],
        healthcheck: check(['CMD', 'curl', '-f', 'http://localhost:9000/minio/health/live']),
      };
      this.services.milvus = {
        image: this.imageOf(milvus, StoreKind.MILVUS),
        // Standalone whatever the environment runs: one process with RocksMQ, no Kafka.
        command: ['milvus', 'run', 'standalone'],
        environment: {
          ETCD_ENDPOINTS: 'etcd:2379',
          MINIO_ADDRESS: 'minio:9000',
          MINIO_ACCESS_KEY_ID: this.secretOf(milvus, 'MINIO_ACCESS_KEY_ID', 'milvus'),
          MINIO_SECRET_ACCESS_KEY: this.secretOf(milvus, 'MINIO_SECRET_ACCESS_KEY', 'milvus'),
        },
        ports: ['127.0.0.1:19530:19530'],
        volumes: [`${this.volume('milvus-data')}:/var/lib/milvus`],
        security_opt: ['seccomp:unconfined'],
        healthcheck: check(['CMD', 'curl', '-f', 'http://localhost:9091/healthz'], { start_period: '90s' }),
        depends_on: { etcd: { condition: 'service_healthy' }, minio: { condition: 'service_healthy' } },
      };
      this.storeNotes.push('milvus (milvus:19530, standalone, with etcd:2379 and minio:9000)');
    }
  }

  /** Redis runs as a cluster when its configuration says `cluster-enabled yes`. */
  private redisClusterMode(): boolean {
    const conf = this.configMaps.get('redis-config')?.['redis.conf'] ?? '';
    return /^\s*cluster-enabled\s+yes\s*$/mi.test(conf);
  }

  private envExample(secrets: readonly LocalSecret[], command: string): string {
    return [
      `# Local secrets of the docker compose stack of ${this.where}, written by \`${command}\`.`,
      '# Copy this file to .env beside docker-compose.yml and give every variable a value: docker compose',
      '# reads .env and refuses to start while one is empty. .env is gitignored: never commit it.',
      '# In the cluster each variable is the Secret key named above it.',
      '#',
      '# The stores of this stack (host:port inside it):',
      ...this.storeNotes.map((n) => `#   ${n}`),
      ...secrets.flatMap((s) => ['', `# Secret ${s.secret}, key ${s.key}; read by ${s.readers.join(', ')}`, `${s.variable}=`]),
      '',
    ].join('\n');
  }
}
