import { k8s } from 'cdk8s-plus-27';
import { secureContainer } from '../container';
import { ResourceRequirements } from '../resources';
import { envFromSecret } from '../secret-ref';
import { BackupSettings } from './backup-settings';

/** Where the backup pods find restic (copied from the official image) and the scripts. */
export const BACKUP_BIN_DIR = '/backup/bin';
/** Where the backup container mounts its scripts ConfigMap (read-only, mode 0555): it runs `bash <dir>/<script>`. */
export const BACKUP_SCRIPTS_DIR = '/backup/scripts';
/** restic's cache (RESTIC_CACHE_DIR): the `backup-cache` emptyDir of 2Gi, lost with the pod. */
export const BACKUP_CACHE_DIR = '/backup/cache';
/**
 * A job's scratch space (SCRATCH_DIR and TMPDIR): a 2Gi emptyDir, or a generic ephemeral volume of
 * the job's `scratchSize`.
 */
export const BACKUP_SCRATCH_DIR = '/backup/scratch';
/** Path of the restic binary in the backup container (the scripts' RESTIC), copied there by `install-restic`. */
export const RESTIC_BINARY = `${BACKUP_BIN_DIR}/restic`;
/** CA certificates from the restic image: the stores' images need not carry any for HTTPS to the bucket. */
export const CA_BUNDLE = `${BACKUP_BIN_DIR}/ca-certificates.crt`;

/** The official restic image, pinned, that restic is copied from unless BackupSettings.resticImage is set. */
export const DEFAULT_RESTIC_IMAGE = 'restic/restic:0.17.3';

const INSTALL_RESOURCES: ResourceRequirements = {
  requests: { cpu: '10m', memory: '16Mi' },
  limits: { cpu: '100m', memory: '64Mi' },
};

/**
 * Copies the static restic binary of the official image, and its CA certificates, into the pod's
 * `backup-bin` volume, so the store's own image (with its dump and restore tools and bash) runs the
 * scripts with restic beside them: no image of our own to build, patch and pin.
 */
export function installResticContainer(image: string): k8s.Container {
  return secureContainer({
    name: 'install-restic',
    image,
    resources: INSTALL_RESOURCES,
    command: ['cp', '/usr/bin/restic', '/etc/ssl/certs/ca-certificates.crt', BACKUP_BIN_DIR],
    volumeMounts: [{ name: 'backup-bin', mountPath: BACKUP_BIN_DIR }],
  });
}

/** The volumes {@link installResticContainer} and the restic cache need (emptyDirs). */
export function resticVolumes(): k8s.Volume[] {
  return [
    { name: 'backup-bin', emptyDir: { sizeLimit: k8s.Quantity.fromString('128Mi') } },
    { name: 'backup-cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('2Gi') } },
  ];
}

/**
 * The backup container's mounts of {@link resticVolumes}: `backup-bin` read-only at
 * {@link BACKUP_BIN_DIR}, `backup-cache` at {@link BACKUP_CACHE_DIR}.
 */
export function resticVolumeMounts(): k8s.VolumeMount[] {
  return [
    { name: 'backup-bin', mountPath: BACKUP_BIN_DIR, readOnly: true },
    { name: 'backup-cache', mountPath: BACKUP_CACHE_DIR },
  ];
}

/** restic's repository URL of `store` (`<store>-archive` for archives) in the environment's bucket. */
export function repositoryUrl(settings: BackupSettings, prefix: string, store: string): string {
  const endpoint = settings.repository.endpoint.replace(/\/+$/, '');
  return `s3:${endpoint}/${settings.repository.bucket}/${prefix}/${store}`;
}

/** The environment restic and the scripts read: binary, password and bucket keys (from Secrets), cache. */
export function resticEnv(settings: BackupSettings, backupHost: string): k8s.EnvVar[] {
  return [
    { name: 'RESTIC', value: RESTIC_BINARY },
    envFromSecret('RESTIC_PASSWORD', settings.passwordSecret),
    envFromSecret('AWS_ACCESS_KEY_ID', settings.accessKeyIdSecret),
    envFromSecret('AWS_SECRET_ACCESS_KEY', settings.secretAccessKeySecret),
    { name: 'RESTIC_CACHE_DIR', value: BACKUP_CACHE_DIR },
    { name: 'SSL_CERT_FILE', value: CA_BUNDLE },
    { name: 'BACKUP_HOST', value: backupHost },
  ];
}
