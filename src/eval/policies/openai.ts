/**
 * Any model behind an OpenAI-compatible chat endpoint as a policy, so other models are evaluated
 * with the same harness. The conversation is sent as chat messages (ToolLLaMA's `function` turns
 * become user turns reading `Function: <observation>`, since not every server accepts that role),
 * and the reply's text is parsed as ReAct. With `tools`, the functions are also offered as OpenAI
 * tools and a tool call in the reply is turned into the same ReAct text.
 */
import { chatCompletion, type ChatEndpoint } from './openaiChat.js';
import type { Policy, PolicyCompletion, PolicyRequest } from './policy.js';
import { renderReact } from '../agent/react.js';

export interface OpenAiPolicyOptions {
  endpoint: ChatEndpoint;
  useTools: boolean;
  temperature: number;
  maxTokens: number;
  /** Requests sent concurrently. */
  concurrency: number;
}

export class OpenAiPolicy implements Policy {
  readonly description: string;
  readonly maxBatch: number;

  constructor(private readonly o: OpenAiPolicyOptions) {
    this.description = `OpenAI-compatible endpoint, model ${o.endpoint.model}${o.useTools ? ' (tools)' : ''}`;
    this.maxBatch = o.concurrency;
  }

  complete(requests: PolicyRequest[]): Promise<PolicyCompletion[]> {
    return Promise.all(requests.map((r) => this.completeOne(r)));
  }

  private async completeOne(request: PolicyRequest): Promise<PolicyCompletion> {
    const messages = request.messages.map((m) =>
      m.role === 'function'
        ? { role: 'user', content: `Function: ${m.content}` }
        : { role: m.role, content: m.role === 'assistant' ? m.content.replace(/^\n/, '') : m.content },
    );
    const extra: Record<string, unknown> = { temperature: this.o.temperature, max_tokens: this.o.maxTokens };
    if (this.o.useTools) extra.tools = request.functions.map((f) => ({ type: 'function', function: f }));
    try {
      const reply = await chatCompletion(this.o.endpoint, messages, extra);
      const text = reply.call
        ? renderReact({ thought: reply.content, action: reply.call.name, actionInput: reply.call.arguments }).slice(1)
        : reply.content;
      return { ok: true, text };
    } catch (e) {
      return { ok: false, kind: 'error', message: (e as Error).message };
    }
  }
}
