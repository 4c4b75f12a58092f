// A namespace import lets esbuild tree-shake zod (`import { z }` keeps all of it, every locale included: +400 KB).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

z.config(en());

/** The environment's secret (`pd-agent/<env>` in Secrets Manager), as fixed by DESIGN.md "Runtime contract". */
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
  webhookSecrets: z.array(webhookSecretSchema),
  eventsRoutingKey: z.optional(z.string().check(z.minLength(1))),
});

export type AgentSecret = z.infer<typeof agentSecretSchema>;
export type WebhookSigningSecret = z.infer<typeof webhookSecretSchema>;
export type OAuthClientCredentials = z.infer<typeof oauthSchema>;

export class AgentSecretError extends Error {
  override readonly name = 'AgentSecretError';
  constructor(
    readonly secretId: string,
    readonly problems: string,
  ) {
    super(
      `Secret ${secretId} does not have the shape pd-agent needs: ${problems}. ` +
        'Write it again with `pd-agent secret set --env <name>` (README "Putting the keys in the secret").',
    );
  }
}

/**
 * Checks the secret's shape. Problems name fields, never values: a secret must not leak through its own error.
 */
export function parseAgentSecret(secretString: string, secretId: string): AgentSecret {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new AgentSecretError(secretId, 'the value is not JSON');
  }
  const result = agentSecretSchema.safeParse(json);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new AgentSecretError(secretId, fields.join('; '));
  }
  const secret = result.data;
  if ((secret.apiToken === undefined) === (secret.oauth === undefined)) {
    throw new AgentSecretError(secretId, 'exactly one of apiToken or oauth must be set');
  }
  return secret;
}
