/**
 * Finds secret values in manifests: Secret objects with data, credential-named env vars with a
 * literal value, and credential-looking literals anywhere (URLs with user:password@, private keys,
 * `password=...` lines in configuration files).
 */
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const ASSIGNED_SECRET = /(password|passwd|secret|token|api[_-]?key)\s*[=:]\s*['"]?[^\s'"$]{4,}/i;
/** Settings named like credentials that are public identifiers by design. */
const NOT_CREDENTIALS = [
  /--initial-cluster-token=/, // etcd: distinguishes clusters at bootstrap, documented as not secret
];

export function findSecretValues(object: Record<string, any>, where: string): string[] {
  const findings: string[] = [];
  if (object.kind === 'Secret' && (object.data || object.stringData)) {
    findings.push(`${where}: Secret with data (reference an existing Secret instead)`);
  }
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
    } else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.name === 'string' && typeof record.value === 'string' && CREDENTIAL_NAME.test(record.name) && path.match(/\.env\[\d+\]$/)) {
        findings.push(`${where}: env ${record.name} at ${path} has a literal value`);
      }
      for (const [k, v] of Object.entries(record)) walk(v, `${path}.${k}`);
    } else if (typeof value === 'string') {
      if (URL_WITH_PASSWORD.test(value)) findings.push(`${where}: URL with a password at ${path}`);
      if (PRIVATE_KEY.test(value)) findings.push(`${where}: private key at ${path}`);
      for (const line of value.split('\n')) {
        if (ASSIGNED_SECRET.test(line) && !/secretKeyRef|\$\{|\$[A-Z_]|_FILE|_SECRET_NAME/.test(line) && !NOT_CREDENTIALS.some((r) => r.test(line))) {
          findings.push(`${where}: assigned secret "${line.trim().slice(0, 60)}" at ${path}`);
        }
      }
    }
  };
  walk(object, '');
  return findings;
}
