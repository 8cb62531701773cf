export * from './compose-file';
export * from './environment-objects';
