import { silenceSdkNodeVersionWarning } from '../../lib/cli/node-version-warning';

// Dummy credentials and a region: tests only ever reach mocks and loopback emulators, never AWS.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.POWERTOOLS_DEV ??= 'false';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'pd-agent';

// Only the SDK's Node-version notice (docs/running-locally.md); every other warning still reaches the test output.
silenceSdkNodeVersionWarning();
