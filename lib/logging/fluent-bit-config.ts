/** Where the Fluent Bit container finds what the pod mounts. */
export const FLUENT_BIT_PATHS = {
  /** The ConfigMap (fluent-bit.conf, the wait script), read-only. */
  config: '/fluent-bit/config',
  /** The node's logs, read-only: /var/log/containers/*.log link to /var/log/pods/. */
  nodeLogs: '/var/log',
  /** On the node: read offsets and the disk buffer, so a new pod neither loses nor repeats lines. */
  state: '/var/lib/fluent-bit',
  /** The CA Secret of Elasticsearch's certificate as `ca.crt`, read-only, where `caSecret` is set. */
  elasticsearchCa: '/fluent-bit/elasticsearch-ca',
} as const;

/** Fluent Bit's HTTP server: health, metrics. */
export const FLUENT_BIT_HTTP_PORT = 2020;

/** What {@link fluentBitConfig} writes into the Elasticsearch output. */
export interface FluentBitConfigOptions {
  /** Elasticsearch host name and port. */
  readonly host: string;
  /** Elasticsearch's HTTPS port (the output's `Port`). */
  readonly port: number;
  /** The data stream written (its index template binds the ILM policy). */
  readonly index: string;
  /** Verify Elasticsearch against this CA file rather than the image's public CAs. */
  readonly caFile?: string;
  /** Disk buffer limit of the Elasticsearch output, in MiB. */
  readonly bufferLimitMiB: number;
}

/**
 * The classic-format configuration: container logs tailed with the CRI and Docker multiline
 * parsers, enriched with pod metadata by the kubernetes filter, JSON log lines merged under
 * `app`, written with `create` to a data stream (the only operation a data stream accepts).
 * `${ES_USERNAME}` and `${ES_PASSWORD}` are the container's environment, which Fluent Bit
 * substitutes when it reads the file, so no credential is in the ConfigMap.
 */
export function fluentBitConfig(options: FluentBitConfigOptions): string {
  const lines = [
    '[SERVICE]',
    '    Flush                     5',
    '    Daemon                    Off',
    '    Log_Level                 info',
    '    HTTP_Server               On',
    '    HTTP_Listen               0.0.0.0',
    `    HTTP_Port                 ${FLUENT_BIT_HTTP_PORT}`,
    // /api/v1/health turns 500 after 5 output errors or failed retries within 60 s: the readiness probe.
    '    Health_Check              On',
    '    HC_Errors_Count           5',
    '    HC_Retry_Failure_Count    5',
    '    HC_Period                 60',
    `    storage.path              ${FLUENT_BIT_PATHS.state}/buffer`,
    '    storage.sync              normal',
    '    storage.backlog.mem_limit 16M',
    '',
    '[INPUT]',
    '    Name              tail',
    '    Tag               kube.*',
    `    Path              ${FLUENT_BIT_PATHS.nodeLogs}/containers/*.log`,
    '    multiline.parser  cri, docker',
    `    DB                ${FLUENT_BIT_PATHS.state}/tail-containers.db`,
    '    DB.locking        true',
    '    Mem_Buf_Limit     50MB',
    '    Skip_Long_Lines   On',
    '    Refresh_Interval  10',
    '    storage.type      filesystem',
    '',
    '[FILTER]',
    '    Name                kubernetes',
    '    Match               kube.*',
    '    Kube_URL            https://kubernetes.default.svc:443',
    '    Kube_Tag_Prefix     kube.var.log.containers.',
    // JSON lines become fields under `app` (not the record's root, where `kubernetes` or `@timestamp` would collide).
    '    Merge_Log           On',
    '    Merge_Log_Key       app',
    '    Keep_Log            Off',
    '    K8S-Logging.Exclude On',
    '    Labels              On',
    '    Annotations         Off',
    '    Buffer_Size         256k',
    '',
    '[OUTPUT]',
    '    Name                     es',
    '    Match                    kube.*',
    `    Host                     ${options.host}`,
    `    Port                     ${options.port}`,
    '    HTTP_User                ${ES_USERNAME}',
    '    HTTP_Passwd              ${ES_PASSWORD}',
    '    tls                      On',
    '    tls.verify               On',
    ...(options.caFile ? [`    tls.ca_file              ${options.caFile}`] : []),
    `    Index                    ${options.index}`,
    '    Write_Operation          create',
    '    Suppress_Type_Name       On',
    // Label keys such as app.kubernetes.io/name would otherwise clash with a label `app` as object and text.
    '    Replace_Dots             On',
    '    Retry_Limit              False',
    `    storage.total_limit_size ${options.bufferLimitMiB}M`,
    '',
  ];
  return lines.join('\n');
}
