// A namespace import lets esbuild tree-shake zod (`import { z }` keeps all of it, every locale included: +400 KB).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

z.config(en());

/**
 * The webhook signing secrets as the secrets hold them (docs/configuration.md "Configuration"): the whole document of
 * `pd-agent/<env>/webhook-signing` (WEBHOOK_SECRET_ID), and the `webhookSecrets` of a credentials document of a stack
 * deployed before the split. Apart from the credentials' schema (agent-secret.ts), which the ingress must not bundle.
 */
export const webhookSecretSchema = z.object({
  subscriptionId: z.string().check(z.minLength(1)),
  secret: z.string().check(z.minLength(1)),
});

const signingSecretsSchema = z.object({ webhookSecrets: z.array(webhookSecretSchema) });
export type WebhookSigningSecret = z.infer<typeof webhookSecretSchema>;

export class AgentSecretError extends Error {
  override readonly name = 'AgentSecretError';
  constructor(
    readonly secretId: string,
    readonly problems: string,
    fix = 'Write it again with `pd-agent secret set --env <name>` (docs/operations.md "Putting the keys in the secret").',
  ) {
    super(`Secret ${secretId} does not have the shape pd-agent needs: ${problems}. ${fix}`);
  }
}

export function parseSecretJson(secretString: string, secretId: string): unknown {
  try {
    return JSON.parse(secretString);
  } catch {
    throw new AgentSecretError(secretId, 'the value is not JSON');
  }
}

export function problemsOf(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/**
 * The `webhookSecrets` of a document, or `undefined` when it has none: the WEBHOOK_SECRET_ID document still holding the
 * placeholder the stack created it with (nothing was written yet, or the environment is not migrated), or a split
 * credentials document. Nothing else of the document is checked. Problems name fields, never values.
 */
export function parseSigningSecrets(secretString: string, secretId: string): WebhookSigningSecret[] | undefined {
  const json = parseSecretJson(secretString, secretId);
  if (json !== null && typeof json === 'object' && !Array.isArray(json) && !Object.hasOwn(json, 'webhookSecrets')) return undefined;
  const result = signingSecretsSchema.safeParse(json);
  if (!result.success) {
    throw new AgentSecretError(
      secretId,
      `${problemsOf(result.error.issues)} (expected {"webhookSecrets":[{"subscriptionId","secret"}]})`,
      'Only `pd-agent webhook subscribe|revoke|rotate` and `pd-agent secret split` write it (docs/operations.md "Creating the PagerDuty webhook subscription").',
    );
  }
  return result.data.webhookSecrets;
}
