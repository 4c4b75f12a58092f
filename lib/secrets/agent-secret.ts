// A namespace import lets esbuild tree-shake zod (`import { z }` keeps all of it, every locale included: +400 KB).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

z.config(en());

/**
 * The environment's credentials secret (`pd-agent/<env>`, SECRET_ID) and its signing-secrets document
 * (`pd-agent/<env>/webhook-signing`, WEBHOOK_SECRET_ID), as fixed by the runtime contract (docs/configuration.md "Configuration"). A credentials
 * document of a stack deployed before the split still holds `webhookSecrets`; a split one has none.
 */
const webhookSecretSchema = z.object({
  subscriptionId: z.string().check(z.minLength(1)),
  secret: z.string().check(z.minLength(1)),
});

const oauthSchema = z.object({
  clientId: z.string().check(z.minLength(1)),
  clientSecret: z.string().check(z.minLength(1)),
  subdomain: z.string().check(z.minLength(1)),
  scopes: z.string().check(z.minLength(1)),
});

export const agentSecretSchema = z.object({
  apiToken: z.optional(z.string().check(z.minLength(1))),
  oauth: z.optional(oauthSchema),
  fromEmail: z.email(),
  botUserId: z.string().check(z.minLength(1)),
  webhookSecrets: z.optional(z.array(webhookSecretSchema)),
  eventsRoutingKey: z.optional(z.string().check(z.minLength(1))),
});

export type AgentSecret = z.infer<typeof agentSecretSchema>;

const signingSecretsSchema = z.object({ webhookSecrets: z.array(webhookSecretSchema) });
export type WebhookSigningSecret = z.infer<typeof webhookSecretSchema>;
export type OAuthClientCredentials = z.infer<typeof oauthSchema>;

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

function parseJson(secretString: string, secretId: string): unknown {
  try {
    return JSON.parse(secretString);
  } catch {
    throw new AgentSecretError(secretId, 'the value is not JSON');
  }
}

function problemsOf(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/**
 * The signing secrets of the WEBHOOK_SECRET_ID document, or `undefined` while it still holds the placeholder the stack
 * created it with (no `webhookSecrets` key: nothing was written yet, or the environment is not migrated). Problems
 * name fields, never values.
 */
export function parseSigningSecrets(secretString: string, secretId: string): WebhookSigningSecret[] | undefined {
  const json = parseJson(secretString, secretId);
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

/**
 * Checks the secret's shape. Problems name fields, never values: a secret must not leak through its own error.
 */
export function parseAgentSecret(secretString: string, secretId: string): AgentSecret {
  const result = agentSecretSchema.safeParse(parseJson(secretString, secretId));
  if (!result.success) throw new AgentSecretError(secretId, problemsOf(result.error.issues));
  const secret = result.data;
  if ((secret.apiToken === undefined) === (secret.oauth === undefined)) {
    throw new AgentSecretError(secretId, 'exactly one of apiToken or oauth must be set');
  }
  return secret;
}
