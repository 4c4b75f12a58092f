// A namespace import lets esbuild tree-shake zod (`import { z }` keeps all of it, every locale included: +400 KB).
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';
import { AgentSecretError, parseSecretJson, problemsOf, webhookSecretSchema } from './signing-secrets';

z.config(en());

export { AgentSecretError, parseSigningSecrets, type WebhookSigningSecret } from './signing-secrets';

const oauthSchema = z.object({
  clientId: z.string().check(z.minLength(1)),
  clientSecret: z.string().check(z.minLength(1)),
  subdomain: z.string().check(z.minLength(1)),
  scopes: z.string().check(z.minLength(1)),
});

/**
 * The environment's credentials secret (`pd-agent/<env>`, SECRET_ID), as fixed by the runtime contract
 * (docs/configuration.md "Configuration"). A credentials document of a stack deployed before the split still holds
 * `webhookSecrets`; a split one has none. The signing-secrets document is signing-secrets.ts's.
 */
export const agentSecretSchema = z.object({
  apiToken: z.optional(z.string().check(z.minLength(1))),
  oauth: z.optional(oauthSchema),
  fromEmail: z.email(),
  botUserId: z.string().check(z.minLength(1)),
  webhookSecrets: z.optional(z.array(webhookSecretSchema)),
  eventsRoutingKey: z.optional(z.string().check(z.minLength(1))),
  /** Events API v2 key of a service whose people are paged when PagerDuty refuses both the escalation and the assignment. */
  fallbackRoutingKey: z.optional(z.string().check(z.minLength(1))),
});

export type AgentSecret = z.infer<typeof agentSecretSchema>;
export type OAuthClientCredentials = z.infer<typeof oauthSchema>;

/**
 * Checks the secret's shape. Problems name fields, never values: a secret must not leak through its own error.
 */
export function parseAgentSecret(secretString: string, secretId: string): AgentSecret {
  const result = agentSecretSchema.safeParse(parseSecretJson(secretString, secretId));
  if (!result.success) throw new AgentSecretError(secretId, problemsOf(result.error.issues));
  const secret = result.data;
  if ((secret.apiToken === undefined) === (secret.oauth === undefined)) {
    throw new AgentSecretError(secretId, 'exactly one of apiToken or oauth must be set');
  }
  return secret;
}
