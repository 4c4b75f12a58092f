import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What `npm start` writes so the CLI can find the running local stack (`.local-state/local-stack.json`, git-ignored). */
export interface LocalStackState {
  agentEnv: string;
  region: string;
  webhookUrl: string;
  pagerDutyApiUrl: string;
  /** True when `pagerDutyApiUrl` is the project's sandbox (false when `npm start` runs against real PagerDuty). */
  pagerDutySandbox: boolean;
  endpoints: { dynamodb: string; sqs: string; secretsManager: string };
  stateTable: string;
  auditTable: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  secretId: string;
  webhookSecretId: string;
  pid: number;
  startedAt: string;
}

/** `PD_AGENT_STATE_DIR` moves it (tests run their own local stacks without touching a developer's `npm start`). */
export const localStatePath = (root: string, env: NodeJS.ProcessEnv = process.env): string =>
  join(env.PD_AGENT_STATE_DIR ?? join(root, '.local-state'), 'local-stack.json');

export function writeLocalStackState(root: string, state: LocalStackState): void {
  const path = localStatePath(root);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`);
}

export function readLocalStackState(root: string, env: NodeJS.ProcessEnv = process.env): LocalStackState | undefined {
  const path = localStatePath(root, env);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as LocalStackState;
}

export function removeLocalStackState(root: string, pid: number): void {
  const state = readLocalStackState(root);
  if (state?.pid === pid) rmSync(localStatePath(root), { force: true });
}
