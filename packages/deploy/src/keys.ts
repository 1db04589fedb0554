// The deploy keys are named in core, with every other option key, so that any command can tell
// a known key from a misspelled one.
export { FetcherKeys } from '@flink-artifacts/core';
