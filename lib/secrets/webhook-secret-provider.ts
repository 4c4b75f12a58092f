import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MissingConfigurationError } from '../config/runtime-env';
import { SigningSecretSource, SingleDocumentSigningSecretSource, type WebhookSecretProvider } from './signing-secret-source';

/**
 * The ingress's signing secrets by layout (docs/configuration.md "Configuration"):
 * - WEBHOOK_SECRET_ID only (split, the default): the signing-secrets document, nothing else; the role cannot read the
 *   credentials secret at all.
 * - WEBHOOK_SECRET_ID and SECRET_ID (`webhookSecretLayout: "migrating"`): the signing-secrets document, or SECRET_ID's
 *   `webhookSecrets` while the document still holds its placeholder (until `pd-agent secret split`).
 * - SECRET_ID only (a stack deployed before the split): SECRET_ID's `webhookSecrets`, as before.
 */
export function webhookSecretProviderFromEnv(client: SecretsManagerClient, env: NodeJS.ProcessEnv): WebhookSecretProvider {
  const signingId = env.WEBHOOK_SECRET_ID;
  const credentialsId = env.SECRET_ID;
  const single =
    credentialsId === undefined || credentialsId === ''
      ? undefined
      : new SingleDocumentSigningSecretSource({ client, secretId: credentialsId });
  if (signingId === undefined || signingId === '') {
    if (single === undefined) throw new MissingConfigurationError('WEBHOOK_SECRET_ID');
    return single;
  }
  return new SigningSecretSource({ client, secretId: signingId, ...(single === undefined ? {} : { fallback: single }) });
}
