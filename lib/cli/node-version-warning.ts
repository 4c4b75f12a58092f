/**
 * The AWS SDK (v3) warns once per loaded copy of @aws-sdk/core that its releases after January 2027 will need
 * Node.js 22 (`NodeVersionSupportWarning`). Every Lambda bundle and every jest test file loads its own copy, so `npm
 * start` and the test suite printed it over and over, burying what users and CI should read. This variable is the SDK's own switch
 * for exactly that warning; every other warning still prints. The Lambda runtime is nodejs22.x, where the warning
 * cannot occur, so the bundles never need it. docs/running-locally.md says what the warning meant.
 */
export const SDK_NODE_VERSION_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** Turns the warning off unless the user set the switch themselves (`=false` shows it again). */
export function silenceSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  env[SDK_NODE_VERSION_WARNING_SWITCH] ??= 'true';
}
