export * from './store-selector';
export * from './mysql';
export * from './postgres';
export * from './redis';
export * from './milvus';
