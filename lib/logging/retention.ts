/** The Elasticsearch objects that make the retention: installed by the log retention Job. */

export interface RetentionOptions {
  /** Data stream name; also the names of its index template and ILM policy. */
  readonly indexName: string;
  /** Days a backing index is kept after it rolled over. */
  readonly retentionDays: number;
  /** Replicas of each backing index. */
  readonly replicas: number;
}

/** Rolled over after a day (or 50 GB a shard), deleted `retentionDays` after its rollover. */
export function ilmPolicy(options: RetentionOptions): Record<string, unknown> {
  return {
    policy: {
      _meta: { description: `Container logs: roll over daily, delete ${options.retentionDays} days after rollover`, managed_by: 'ai-platform-k8s' },
      phases: {
        hot: { min_age: '0ms', actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } },
        // min_age of the delete phase counts from the rollover: every line is kept at least retentionDays days.
        delete: { min_age: `${options.retentionDays}d`, actions: { delete: {} } },
      },
    },
  };
}

/** Makes `indexName` a data stream whose backing indices the ILM policy governs. */
export function indexTemplate(options: RetentionOptions): Record<string, unknown> {
  return {
    index_patterns: [options.indexName],
    data_stream: {},
    // Above Elasticsearch's built-in templates (100), which never match this name anyway.
    priority: 200,
    template: {
      settings: {
        'index.lifecycle.name': options.indexName,
        'index.number_of_shards': 1,
        'index.number_of_replicas': options.replicas,
      },
    },
    _meta: { description: 'Container logs shipped by Fluent Bit', managed_by: 'ai-platform-k8s' },
  };
}

/**
 * What the shipper may do: create documents in the data stream (and the stream itself on the first
 * write), and read cluster state (`monitor`: it waits for the index template before writing).
 */
export function writerRole(options: RetentionOptions): Record<string, unknown> {
  return {
    cluster: ['monitor'],
    indices: [{ names: [options.indexName], privileges: ['create_doc', 'auto_configure'] }],
    metadata: { managed_by: 'ai-platform-k8s' },
  };
}

/** Name of the role {@link writerRole} creates. */
export function writerRoleName(indexName: string): string {
  return `${indexName}-writer`;
}

/** The requests of the retention Job, in order: `[path, body file, body]`. */
export function retentionRequests(options: RetentionOptions): [string, string, Record<string, unknown>][] {
  return [
    [`_ilm/policy/${options.indexName}`, 'ilm-policy.json', ilmPolicy(options)],
    [`_index_template/${options.indexName}`, 'index-template.json', indexTemplate(options)],
    [`_security/role/${writerRoleName(options.indexName)}`, 'writer-role.json', writerRole(options)],
  ];
}
