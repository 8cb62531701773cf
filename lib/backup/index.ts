export * from './backup-jobs';
export * from './backup-repository';
export * from './backup-rules';
export * from './backup-settings';
export * from './cron-schedule';
export * from './restic-tools';
export * from './restore-chart';
export * from './store-backup';
