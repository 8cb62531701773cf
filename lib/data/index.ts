export * from './storage';
export * from './stateful-workload';
export * from './mysql';
export * from './postgres';
export * from './redis';
export * from './milvus';
