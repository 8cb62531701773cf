export * from './exporter';
export * from './mysql';
export * from './postgres';
export * from './redis';
export * from './kafka';
