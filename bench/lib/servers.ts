/** The real servers benchmarks run against, started the same way the tests start them. */
export { startRgw } from '@flink-artifacts/test-helpers/s3';
export { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
