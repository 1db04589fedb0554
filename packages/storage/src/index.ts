export { createDriverPicker, openDrivers, storageOptionsFromConfig, type OpenedDrivers, type StorageOptions } from './picker.ts';
export { createFileDriver } from './file-driver.ts';
export type { HttpDriverOptions } from './http-driver.ts';
export type { GcsDriverOptions } from './gcs-driver.ts';
export type { S3Dialect, S3DriverOptions } from './s3-driver.ts';
export type { AzureDriverOptions } from './azure-driver.ts';
