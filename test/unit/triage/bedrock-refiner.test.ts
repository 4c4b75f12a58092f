import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { buildRefinementPrompt, createBedrockRefiner, extractJson } from '../../../lib/triage/bedrock-refiner';
import { triageIncident } from '../../../lib/triage/triage';
import type { Hypothesis } from '../../../lib/triage/types';
import { makeAlert, makeChangeEvent, makeIncidentContext, makeRule, makeTriagePolicy, minutesBefore } from '../../support/incident-context';

const bedrock = mockClient(BedrockRuntimeClient);
const client = new BedrockRuntimeClient({});
const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';

function answer(text: string, stopReason: ConverseCommandOutput['stopReason'] = 'end_turn'): ConverseCommandOutput {
  return {
    $metadata: {},
    output: { message: { role: 'assistant', content: [{ text }] } },
    stopReason,
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    metrics: { latencyMs: 1 },
  };
}

const context = makeIncidentContext({
  changeEvents: [makeChangeEvent({ summary: 'Deploy api v2.3.1', timestamp: minutesBefore(4) })],
  alerts: [makeAlert({ body: { details: { error: 'connection refused', host: 'db-1' } } })],
});
const escalated = triageIncident(context, makeTriagePolicy());
const held = triageIncident(context, makeTriagePolicy({ rules: [makeRule({ action: 'hold', confidence: 0.9 })] }));

beforeEach(() => {
  bedrock.reset();
  jest.useRealTimers();
});

describe('createBedrockRefiner', () => {
  it('refines summary, steps and confidence through the Converse API and marks the hypothesis as bedrock', async () => {
    bedrock
      .on(ConverseCommand)
      .resolves(
        answer(
          '```json\n{"summary":"Deploy v2.3.1 broke the DB pool: connection refused on db-1","confidence":0.5,"nextSteps":["Roll back v2.3.1"]}\n```',
        ),
      );
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000 }).refine(context, escalated);
    expect(result.refined).toBe(true);
    expect(result.fallbackReason).toBeUndefined();
    expect(result.hypothesis).toEqual({
      ...escalated,
      summary: 'Deploy v2.3.1 broke the DB pool: connection refused on db-1',
      confidence: 0.5,
      nextSteps: ['Roll back v2.3.1'],
      producedBy: 'bedrock',
    });
    const calls = bedrock.commandCalls(ConverseCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.modelId).toBe(MODEL);
    expect(input?.inferenceConfig?.temperature).toBe(0);
    const prompt = input?.messages?.[0]?.content?.[0]?.text ?? '';
    expect(prompt).toContain('api v2.3.1');
    expect(prompt).toContain('connection refused');
    expect(JSON.parse(prompt)).toHaveProperty('rulesHypothesis.summary', escalated.summary);
  });

  it('falls back to the rules on an answer that is not JSON', async () => {
    bedrock.on(ConverseCommand).resolves(answer('I think it was the deploy.'));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000 }).refine(context, escalated);
    expect(result).toEqual({ hypothesis: escalated, refined: false, fallbackReason: expect.stringContaining('not JSON') });
  });

  it('falls back on JSON of the wrong shape', async () => {
    bedrock.on(ConverseCommand).resolves(answer('{"summary":"x","confidence":7,"nextSteps":"roll back"}'));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000 }).refine(context, escalated);
    expect(result.refined).toBe(false);
    expect(result.hypothesis).toBe(escalated);
    expect(result.fallbackReason).toContain('asked-for shape');
  });

  it('falls back on a truncated answer (max_tokens)', async () => {
    bedrock.on(ConverseCommand).resolves(answer('{"summary":"x","confidence":0.5,"nextSteps":[]}', 'max_tokens'));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000 }).refine(context, escalated);
    expect(result.refined).toBe(false);
    expect(result.fallbackReason).toContain('max_tokens');
  });

  it('falls back on a Bedrock error, naming it', async () => {
    bedrock
      .on(ConverseCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform bedrock:InvokeModel'), { name: 'AccessDeniedException' }));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000 }).refine(context, escalated);
    expect(result.refined).toBe(false);
    expect(result.hypothesis).toBe(escalated);
    expect(result.fallbackReason).toContain('AccessDeniedException');
  });

  it('falls back at the deadline and aborts the call', async () => {
    jest.useFakeTimers();
    bedrock.on(ConverseCommand).callsFake(() => new Promise(() => undefined));
    const send = jest.spyOn(client, 'send');
    const pending = createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 4000 }).refine(context, escalated);
    const signal = (send.mock.calls[0]?.[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
    expect(signal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(4000);
    const result = await pending;
    expect(result).toEqual({ hypothesis: escalated, refined: false, fallbackReason: expect.stringContaining('within 4000 ms') });
    expect(signal?.aborted).toBe(true);
    send.mockRestore();
  });

  it('never weakens the decision nor raises the confidence, whatever the model answers', async () => {
    bedrock.on(ConverseCommand).resolves(answer('{"summary":"All fine, resolve it","confidence":1,"nextSteps":[],"decision":"resolve"}'));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000, holdMinConfidence: 0.7 }).refine(
      context,
      escalated,
    );
    expect(result.refined).toBe(true);
    expect(result.hypothesis.decision).toBe('escalate');
    expect(result.hypothesis.decisionReason).toBe(escalated.decisionReason);
    expect(result.hypothesis.confidence).toBe(escalated.confidence);
    expect(result.hypothesis.nextSteps).toEqual(escalated.nextSteps);
  });

  it('hands a held incident to humans when the model lowers the confidence below holdMinConfidence', async () => {
    bedrock
      .on(ConverseCommand)
      .resolves(answer('{"summary":"Unclear: could be the deploy or the DB","confidence":0.4,"nextSteps":["Check both"]}'));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000, holdMinConfidence: 0.7 }).refine(context, held);
    expect(held.decision).toBe('hold');
    expect(result.hypothesis.decision).toBe('escalate');
    expect(result.hypothesis.confidence).toBe(0.4);
    expect(result.hypothesis.decisionReason).toContain('lowered the confidence to 40%, below the 70% required');
  });

  it('keeps a confident hold as it is', async () => {
    bedrock.on(ConverseCommand).resolves(answer('{"summary":"Known bad release pattern","confidence":0.85,"nextSteps":[]}'));
    const result = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000, holdMinConfidence: 0.7 }).refine(context, held);
    expect(result.hypothesis).toMatchObject({
      decision: 'hold',
      confidence: 0.85,
      summary: 'Known bad release pattern',
      ruleId: held.ruleId,
    });
  });

  it('bounds the summary and next steps to one line each', async () => {
    const long = `${'word '.repeat(200)}\nsecond line`;
    bedrock
      .on(ConverseCommand)
      .resolves(answer(JSON.stringify({ summary: long, confidence: 0.1, nextSteps: Array(15).fill('step\nmore') })));
    const { hypothesis } = await createBedrockRefiner({ client, modelId: MODEL, deadlineMs: 1000 }).refine(context, escalated);
    expect(hypothesis.summary.length).toBeLessThanOrEqual(300);
    expect(hypothesis.summary).not.toContain('\n');
    expect(hypothesis.nextSteps).toHaveLength(8);
    expect(hypothesis.nextSteps[0]).toBe('step more');
  });
});

describe('prompt and parsing helpers', () => {
  it('bounds the prompt even for huge evidence', () => {
    const huge: Hypothesis = {
      ...escalated,
      evidence: Array.from({ length: 100 }, (_, index) => ({ source: 'x', text: `${index} ${'y'.repeat(5000)}` })),
    };
    expect(buildRefinementPrompt(context, huge).length).toBeLessThanOrEqual(12_000);
  });

  it('extracts the JSON object from an answer with text around it', () => {
    expect(extractJson('Here you go: {"a":1} hope it helps')).toEqual({ a: 1 });
    expect(() => extractJson('no json')).toThrow('no JSON object');
  });
});
