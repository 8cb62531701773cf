// The public API of the PostgreSQL store; the paths and renderers it uses stay internal.
export { POSTGRES_PORT } from './postgres-config';
export type { PostgresTuning } from './postgres-config';
export { PostgresServer } from './postgres-server';
export type { PostgresServerProps, PrimaryRole, StandbyRole } from './postgres-server';
export { Postgres } from './postgres';
export type { PostgresProps } from './postgres';
