export * from './eck-elasticsearch';
export * from './fluent-bit';
export * from './fluent-bit-config';
export * from './host-access-namespace';
export * from './log-retention';
export * from './log-store';
export * from './platform-app';
export * from './retention';
