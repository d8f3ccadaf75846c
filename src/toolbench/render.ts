/**
 * ToolLLaMA's text rendering (conversation template `tool-llama-single-round`, docs/toolbench-formats.md §c)
 * and its inference prompt.
 */

/** One turn of a ToolLLaMA conversation. */
export interface ConversationTurn {
  from: ToolLlamaRole;
  value: string;
  /**
   * An assistant turn's loss weight, as OpenAI's chat fine-tuning format gives it per message: 0
   * keeps the turn out of the targets (a failed call the model should see, not learn to make);
   * 1, or no weight, trains on it. Ignored under `lossOn: 'all'`.
   */
  weight?: 0 | 1;
}

/** A ToolLLaMA training instance: the shape of ToolBench's `toolllama_G123_dfs_train.json` items. */
export interface ToolLlamaConversation {
  id: string;
  conversations: ConversationTurn[];
}

/**
 * Which characters carry loss:
 * - `assistant` (kiln's default): every assistant turn's value;
 * - `last-assistant`: only the last assistant turn's value, as ToolLLaMA trains;
 * - `all`: the whole text (TRL's old default for plain-text SFT).
 */
export type LossOn = 'assistant' | 'last-assistant' | 'all';

export interface RenderedConversation {
  text: string;
  /** Half-open character ranges `[start, end)` of `text` that are targets, ascending, disjoint. */
  lossSpans: [number, number][];
  /** Where each turn's value lies in `text` (without role prefix, separator or `</s>`). */
  valueSpans: [number, number][];
}

const ROLE_NAMES: Record<string, string> = {
  system: 'System',
  user: 'User',
  function: 'Function',
  tool: 'Function',
  assistant: 'Assistant',
};

/** OPT's `</s>` (id 2) ends the last turn; the tokenizer step maps this literal to the EOS id. */
export const EOS_TEXT = '</s>';

function roleName(role: string, where: string): string {
  const name = Object.hasOwn(ROLE_NAMES, role) ? ROLE_NAMES[role] : undefined;
  if (name === undefined) throw new Error(`${where}: unknown role ${JSON.stringify(role)}`);
  return name;
}

/**
 * Renders turns as `Role: value`, joined by `\n`, the last turn followed by `</s>`.
 *
 * Loss spans cover an assistant turn's value only: the `Assistant: ` prefix is prompt (ToolLLaMA
 * masks through the last `\nAssistant: `), and the `\n` separator after a non-final turn is not a
 * target. The `</s>` after the final turn is inside the span when that turn is an assistant turn,
 * so the model learns to stop. With `last-assistant` the span is the last assistant turn's value
 * (plus `</s>` when it ends the text), which on ToolLLaMA data is exactly its mask. An assistant
 * turn of weight 0 has no span under either.
 */
export function renderConversation(
  conv: Pick<ToolLlamaConversation, 'conversations'> & { id?: string },
  options: { lossOn: LossOn },
): RenderedConversation {
  const where = `conversation ${JSON.stringify(conv.id ?? '')}`;
  const turns = conv.conversations;
  if (turns.length === 0) throw new Error(`${where}: no turns`);
  let text = '';
  const assistantSpans: { span: [number, number]; weight: number }[] = [];
  const valueSpans: [number, number][] = [];
  turns.forEach((turn, i) => {
    const prefix = `${roleName(turn.from, `${where} turn ${i} field "from"`)}: `;
    if (typeof turn.value !== 'string') throw new Error(`${where} turn ${i}: field "value" is not a string`);
    const isLast = i === turns.length - 1;
    text += prefix;
    const start = text.length;
    text += turn.value + (isLast ? EOS_TEXT : '\n');
    valueSpans.push([start, start + turn.value.length]);
    const end = isLast ? text.length : text.length - 1;
    if (turn.from === 'assistant' && end > start) assistantSpans.push({ span: [start, end], weight: turn.weight ?? 1 });
  });
  const weighted = (spans: typeof assistantSpans) => spans.filter((s) => s.weight !== 0).map((s) => s.span);
  switch (options.lossOn) {
    case 'all':
      return { text, lossSpans: [[0, text.length]], valueSpans };
    case 'assistant':
      return { text, lossSpans: weighted(assistantSpans), valueSpans };
    case 'last-assistant':
      return { text, lossSpans: weighted(assistantSpans.slice(-1)), valueSpans };
  }
}

/** The roles of ToolLLaMA's conversations (OpenAI-0613's roles, as ToolBench stores them). */
export type ToolLlamaRole = 'system' | 'user' | 'assistant' | 'function';

/**
 * One message of a ToolLLaMA conversation as the agent holds it at inference (a chat template's
 * own message, with open roles and fields, is the model layer's ChatMessage).
 */
export interface ToolLlamaMessage {
  role: ToolLlamaRole;
  content: string;
  /** For `function` messages: the function that was called. */
  name?: string;
}

/**
 * How the prompt hands over to the model. ToolBench's ToolLLaMA backend appends `Assistant:\n`,
 * though ToolLLaMA trained on `Assistant: ` followed by the value `\nThought: …`: a pretrained
 * model bridges that, a small model trained from scratch does not (measured: kiln's demo model
 * parsed 0% of its replies when prompted the ToolBench way). `'training'` continues exactly as
 * `renderConversation` renders an assistant turn, so the next tokens are those it learned.
 */
export type InferenceHandover = 'toolbench' | 'training';

const HANDOVER: Record<InferenceHandover, string> = { toolbench: 'Assistant:\n', training: 'Assistant: ' };

/**
 * The prompt at inference: each message as `Role: content\n`, then the handover; the model
 * continues with the Thought/Action/Action Input text up to EOS. A system message is used as
 * given: pass the full ToolLLaMA system prompt (with its function list).
 */
export function renderInferencePrompt(messages: readonly ToolLlamaMessage[], handover: InferenceHandover = 'toolbench'): string {
  let text = '';
  messages.forEach((m, i) => {
    text += `${roleName(m.role, `message ${i} field "role"`)}: ${m.content}\n`;
  });
  return text + HANDOVER[handover];
}
