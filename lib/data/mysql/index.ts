export * from './mysql-config';
export * from './mysql-server';
export * from './mysql-primary';
export * from './mysql-replicas';
export * from './mysql';
