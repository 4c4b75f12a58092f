import { ConverseCommand, type BedrockRuntimeClient, type ContentBlock } from '@aws-sdk/client-bedrock-runtime';
import { z } from 'zod/mini';
import { en } from 'zod/v4/locales';
import { salientFields } from './analysers/alert-details';
import { oneLine, truncate } from './text';
import type { Hypothesis, IncidentContext } from './types';

z.config(en());

/**
 * Optional refinement of the rules' hypothesis by a model on Amazon Bedrock (Converse API). The rules' result is
 * always the fallback: on a timeout, an error or an answer that is not the asked-for JSON, the hypothesis comes back
 * unchanged with the reason. The model may reword the summary, propose next steps and lower the confidence; it never
 * changes the decision to a less safe one, never adds evidence, and never raises the confidence above the rules'.
 */

export interface BedrockRefinerOptions {
  client: BedrockRuntimeClient;
  modelId: string;
  /** The whole call, answer included, must finish within this many milliseconds. */
  deadlineMs: number;
  /**
   * The policy's `holdMinConfidence`. When given, a hold or resolve whose refined confidence falls below it becomes
   * an escalation (the safer direction). Without it the decision is kept as the rules made it.
   */
  holdMinConfidence?: number;
  maxTokens?: number;
}

export interface RefinementResult {
  hypothesis: Hypothesis;
  refined: boolean;
  /** Why the rules' hypothesis was kept: timeout, Bedrock error, or an invalid answer. */
  fallbackReason?: string;
}

export interface HypothesisRefiner {
  refine(context: IncidentContext, hypothesis: Hypothesis): Promise<RefinementResult>;
}

const MAX_PROMPT_LENGTH = 12_000;
const MAX_SUMMARY_LENGTH = 300;
const MAX_STEP_LENGTH = 300;
const MAX_STEPS = 8;
const MAX_EVIDENCE_IN_PROMPT = 15;
const MAX_ALERTS_IN_PROMPT = 5;

const SYSTEM_PROMPT = [
  'You help an on-call SRE who was just paged. You receive a PagerDuty incident, its alerts and a hypothesis that a',
  'rules engine formed from the evidence. Improve the hypothesis using only the facts given: do not invent hosts,',
  'versions, links or causes. Reply with one JSON object and nothing else:',
  '{"summary": "<one sentence, at most 200 characters, the most likely cause and what points to it>",',
  '"confidence": <number from 0 to 1, how likely the summary is right>,',
  '"nextSteps": ["<short imperative step>", "... at most 5"]}.',
  'The decision (escalate, hold or resolve) is fixed by policy; do not discuss it.',
].join(' ');

const refinementSchema = z.object({
  summary: z.string().check(z.minLength(1), z.maxLength(2000)),
  confidence: z.number().check(z.gte(0), z.lte(1)),
  nextSteps: z.array(z.string()).check(z.maxLength(20)),
});

export class BedrockDeadlineError extends Error {
  override readonly name = 'BedrockDeadlineError';
  constructor(readonly deadlineMs: number) {
    super(
      `Bedrock did not answer within ${deadlineMs} ms; the rules' hypothesis is used (raise triage.bedrock.deadlineMs if this repeats)`,
    );
  }
}

/** The facts the model sees: compact, bounded, with no identifiers beyond what the note itself shows. */
export function buildRefinementPrompt(context: IncidentContext, hypothesis: Hypothesis): string {
  const { incident } = context;
  const facts = {
    incident: {
      title: truncate(oneLine(incident.title), 300),
      service: incident.service.summary ?? incident.service.id,
      urgency: incident.urgency,
      priority: incident.priority?.name ?? incident.priority?.summary ?? null,
      createdAt: incident.created_at,
    },
    alerts: context.alerts.slice(0, MAX_ALERTS_IN_PROMPT).map((alert) => ({
      summary: truncate(oneLine(alert.summary), 200),
      status: alert.status,
      severity: alert.severity ?? null,
      details: Object.fromEntries(salientFields(alert)),
    })),
    unavailableSources: context.unavailable.map((entry) => entry.source),
    rulesHypothesis: {
      summary: hypothesis.summary,
      confidence: hypothesis.confidence,
      evidence: hypothesis.evidence.slice(0, MAX_EVIDENCE_IN_PROMPT).map((evidence) => truncate(oneLine(evidence.text), 300)),
      nextSteps: hypothesis.nextSteps.slice(0, MAX_STEPS).map((step) => truncate(oneLine(step), MAX_STEP_LENGTH)),
    },
  };
  return truncate(JSON.stringify(facts), MAX_PROMPT_LENGTH);
}

/** The JSON object in a model answer, tolerating a markdown code fence or a sentence around it. */
export function extractJson(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) throw new SyntaxError('the answer contains no JSON object');
  return JSON.parse(text.slice(start, end + 1));
}

function describeError(error: unknown): string {
  if (error instanceof BedrockDeadlineError) return error.message;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return `Bedrock call failed (${name}: ${truncate(oneLine(message), 200)}); the rules' hypothesis is used`;
}

async function withDeadline<T>(deadlineMs: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new BedrockDeadlineError(deadlineMs));
    }, deadlineMs);
  });
  try {
    return await Promise.race([run(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Applies the model's answer within the safety bounds: summary and steps replaced (one line, bounded), confidence
 * never above the rules', decision never less safe, and a hold or resolve whose refined confidence falls below
 * `holdMinConfidence` handed to humans instead.
 */
export function applyRefinement(
  hypothesis: Hypothesis,
  answer: z.infer<typeof refinementSchema>,
  holdMinConfidence: number | undefined,
): Hypothesis {
  const confidence = Math.min(answer.confidence, hypothesis.confidence);
  const nextSteps = answer.nextSteps
    .map((step) => truncate(oneLine(step), MAX_STEP_LENGTH))
    .filter((step) => step !== '')
    .slice(0, MAX_STEPS);
  const refined: Hypothesis = {
    ...hypothesis,
    summary: truncate(oneLine(answer.summary), MAX_SUMMARY_LENGTH),
    confidence,
    nextSteps: nextSteps.length > 0 ? nextSteps : hypothesis.nextSteps,
    producedBy: 'bedrock',
  };
  if (holdMinConfidence !== undefined && hypothesis.decision !== 'escalate' && confidence < holdMinConfidence) {
    refined.decision = 'escalate';
    refined.decisionReason = `${hypothesis.decisionReason} The model's refinement lowered the confidence to ${Math.round(confidence * 100)}%, below the ${Math.round(holdMinConfidence * 100)}% required; handing to on-call.`;
  }
  return refined;
}

export function createBedrockRefiner(options: BedrockRefinerOptions): HypothesisRefiner {
  const { client, modelId, deadlineMs, holdMinConfidence, maxTokens = 600 } = options;
  return {
    async refine(context, hypothesis) {
      const fallback = (reason: string): RefinementResult => ({ hypothesis, refined: false, fallbackReason: reason });
      let text: string;
      try {
        const answer = await withDeadline(deadlineMs, (abortSignal) =>
          client.send(
            new ConverseCommand({
              modelId,
              system: [{ text: SYSTEM_PROMPT }],
              messages: [{ role: 'user', content: [{ text: buildRefinementPrompt(context, hypothesis) }] }],
              inferenceConfig: { maxTokens, temperature: 0 },
            }),
            { abortSignal },
          ),
        );
        const blocks: ContentBlock[] = answer.output?.message?.content ?? [];
        text = blocks.map((block) => block.text ?? '').join('');
        if (answer.stopReason !== undefined && answer.stopReason !== 'end_turn' && answer.stopReason !== 'stop_sequence') {
          return fallback(`the model stopped with "${answer.stopReason}" before a complete answer; the rules' hypothesis is used`);
        }
      } catch (error) {
        return fallback(describeError(error));
      }
      let parsed: unknown;
      try {
        parsed = extractJson(text);
      } catch (error) {
        return fallback(`the model's answer is not JSON (${(error as Error).message}); the rules' hypothesis is used`);
      }
      const result = refinementSchema.safeParse(parsed);
      if (!result.success) {
        return fallback(
          `the model's answer does not have the asked-for shape (${truncate(oneLine(z.prettifyError(result.error)), 200)}); the rules' hypothesis is used`,
        );
      }
      return { hypothesis: applyRefinement(hypothesis, result.data, holdMinConfidence), refined: true };
    },
  };
}
