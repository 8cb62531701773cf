import { isKind, ManifestObject, StringMap } from './manifest';
import { allContainers, containerLabel, isPodOwner, podTemplateOf } from './pod-template';
import { Finding, listOf, PolicyRule } from './rule';

/**
 * dist/ is committed to Git and read by Argo CD: a Secret value written there is published (R16).
 * Secrets exist in the cluster (created by hand or by a secret manager) and manifests reference them.
 */
export const noSecretData: PolicyRule = {
  id: 'no-secret-data',
  description: 'No Secret object carries data or stringData: secret values never reach dist/.',
  fix: 'Create the Secret in the cluster or with a secret manager and reference its keys as { name, key }.',
  appliesTo: (type) => isKind(type, '', 'Secret'),
  check(secret) {
    const keys = [
      ...Object.keys(secret.field<Record<string, unknown>>('data') ?? {}),
      ...Object.keys(secret.field<Record<string, unknown>>('stringData') ?? {}),
    ];
    if (keys.length === 0) return [];
    return [{ message: `carries the values of ${listOf([...new Set(keys)].sort().map((k) => `"${k}"`))} in the manifest` }];
  },
};

/** Words that make a name a credential (`DB_PASSWORD`, `JWT_SECRET`, `OPENAI_API_KEY`). */
const CREDENTIAL_WORDS = ['PASSWORD', 'PASSWD', 'PASS', 'PWD', 'PASSPHRASE', 'SECRET', 'SECRETS', 'TOKEN', 'CREDENTIAL', 'CREDENTIALS', 'APIKEY'];
const CREDENTIAL_PAIRS = ['API_KEY', 'PRIVATE_KEY', 'SECRET_KEY', 'ACCESS_KEY', 'AUTH_KEY', 'SIGNING_KEY', 'ENCRYPTION_KEY', 'MASTER_KEY'];
/** A last word that makes the name about a credential, not the credential (`PASSWORD_FILE`, `SECRET_NAME`, `TOKEN_TTL`). */
const METADATA_WORDS = ['FILE', 'PATH', 'DIR', 'NAME', 'REF', 'TTL', 'LENGTH', 'LEN', 'SECONDS', 'TIMEOUT', 'ENABLED', 'HEADER',
  'TYPE', 'EXPIRY', 'EXPIRES', 'MINUTES', 'HOURS', 'DAYS', 'URL', 'URI', 'ENDPOINT', 'HOST', 'PORT', 'ISSUER', 'AUDIENCE', 'ALGORITHM'];
/** Values that reveal nothing: switches such as `MYSQL_ALLOW_EMPTY_PASSWORD=yes`, or an empty string. */
const HARMLESS_VALUE = /^(|true|false|yes|no|on|off|0|1)$/i;
/** `$(OTHER_VAR)`: Kubernetes substitutes another variable, typically one taken from a Secret. */
const VARIABLE_REFERENCE = /^\$\([A-Za-z_][A-Za-z0-9_]*\)$/;
/** `scheme://user:password@host`; a password starting with `$` is a variable reference, not a literal. */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:([^\s/@]+)@/gi;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROPERTIES_FILE = /\.(properties|env)$/;

/** Whether a variable or property name names a credential. */
export function looksLikeCredential(name: string): boolean {
  const words = name.toUpperCase().split(/[^A-Z0-9]+/).filter((w) => w !== '');
  if (words.length === 0 || METADATA_WORDS.includes(words[words.length - 1])) return false;
  const pairs = words.slice(1).map((w, i) => `${words[i]}_${w}`);
  return words.some((w) => CREDENTIAL_WORDS.includes(w)) || pairs.some((p) => CREDENTIAL_PAIRS.includes(p));
}

/** Whether text holds a URL with a literal password (`postgres://app:s3cret@db:5432/app`). */
export function hasUrlPassword(text: string): boolean {
  // Most values (and every large one: dashboards, scripts) hold no `@` or no `://`: skip the regex.
  if (!text.includes('@') || !text.includes('://')) return false;
  return [...text.matchAll(URL_WITH_PASSWORD)].some((m) => !m[1].startsWith('$'));
}

function isLiteralCredential(name: string, value: string): boolean {
  return looksLikeCredential(name) && !HARMLESS_VALUE.test(value.trim()) && !VARIABLE_REFERENCE.test(value.trim());
}

/**
 * A credential typed into an env var or a ConfigMap is as public as dist/ (R16), and cannot be
 * rotated without a new release (kube-linter `env-var-secret`). Values are never shown in messages.
 */
export const noCredentialLiterals: PolicyRule = {
  id: 'no-credential-literals',
  description: 'No env var or ConfigMap key whose name looks like a credential (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, ...) has a literal value, '
    + 'and no env var or ConfigMap value holds a URL with a user:password@.',
  fix: 'Take the value from a Secret with valueFrom.secretKeyRef (envFromSecret(), construct prop "secretEnv"); build URLs from $(VAR) references.',
  appliesTo: (type) => isPodOwner(type) || isKind(type, '', 'ConfigMap'),
  check(object) {
    return isKind(object, '', 'ConfigMap') ? configMapFindings(object) : envFindings(object);
  },
};

function envFindings(object: ManifestObject): Finding[] {
  const template = podTemplateOf(object);
  if (!template) return [];
  const findings: Finding[] = [];
  for (const ref of allContainers(template.spec)) {
    for (const env of ref.container.env ?? []) {
      if (typeof env.value !== 'string') continue;
      const fromSecret = `take ${env.name} from a Secret with valueFrom.secretKeyRef (envFromSecret(), construct prop "secretEnv")`;
      if (isLiteralCredential(env.name, env.value)) {
        findings.push({ part: containerLabel(ref), message: `sets env ${env.name} to a literal value`, fix: fromSecret });
      } else if (hasUrlPassword(env.value)) {
        findings.push({
          part: containerLabel(ref),
          message: `sets env ${env.name} to a URL with a literal password`,
          fix: `${fromSecret}, or write the password as $(VAR) of a variable taken from a Secret`,
        });
      }
    }
  }
  return findings;
}

function configMapFindings(configMap: ManifestObject): Finding[] {
  const data = configMap.field<StringMap>('data') ?? {};
  const findings: Finding[] = [];
  const moveToSecret = 'move the value to a Secret that exists in the cluster and reference it with secretKeyRef';
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') continue;
    if (ENV_NAME.test(key) && isLiteralCredential(key, value)) {
      findings.push({ part: `key "${key}"`, message: 'holds a credential as a literal value', fix: moveToSecret });
    } else if (PROPERTIES_FILE.test(key) && credentialProperties(value).length > 0) {
      findings.push({ part: `key "${key}"`, message: `sets ${listOf(credentialProperties(value))} to literal values`, fix: moveToSecret });
    } else if (hasUrlPassword(value)) {
      findings.push({ part: `key "${key}"`, message: 'holds a URL with a literal password', fix: moveToSecret });
    }
  }
  return findings;
}

/** Names of `name=value` / `name: value` lines of a properties or .env file that set a credential. */
function credentialProperties(file: string): string[] {
  const names: string[] = [];
  for (const line of file.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z0-9_.-]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (match && !line.trim().startsWith('#') && isLiteralCredential(match[1], match[2].replace(/^["']|["']$/g, ''))) names.push(match[1]);
  }
  return names;
}
