import { BackupSettings } from '../../lib/backup';

/** A valid environment backup configuration for construct tests. */
export const BACKUP_SETTINGS: BackupSettings = {
  repository: { endpoint: 'https://s3.example.com', bucket: 'test-backups', prefix: 'sol/env', endpointCidrs: ['203.0.113.0/24'] },
  passwordSecret: { name: 'backup-secret', key: 'restic-password' },
  accessKeyIdSecret: { name: 'backup-secret', key: 'access-key-id' },
  secretAccessKeySecret: { name: 'backup-secret', key: 'secret-access-key' },
  timeZone: 'Asia/Shanghai',
};
