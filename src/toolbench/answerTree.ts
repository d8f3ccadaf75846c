/**
 * Raw DFSDT/CoT answer files (`answer/G*_answer/*.json`) → ToolLLaMA conversations, exactly as
 * ToolBench's preprocessing does it (docs/toolbench-formats.md §c).
 * Each element of `answer_generation.train_messages` (a chat prefix ending with an assistant
 * message) becomes one training instance.
 */
import type { ToolFunction } from './functions.js';
import { pythonRepr } from './pythonRepr.js';
import type { ConversationTurn, ToolLlamaConversation, ToolLlamaRole } from './render.js';

/** An OpenAI-0613 style message as stored in `train_messages`. */
export interface TrainMessage {
  role: ToolLlamaRole;
  content: string | null;
  function_call?: { name: string; arguments: string } | null;
  /** Function messages carry the called name. */
  name?: string;
  /** `false` on DFSDT diversity prompts. */
  valid?: boolean;
}

/** The part of an answer file the conversion reads. */
export interface AnswerFile {
  answer_generation: {
    valid_data: boolean;
    query: string;
    /** The exact function list shown to the model, Finish last. */
    function: ToolFunction[];
    train_messages?: TrainMessage[][];
  };
}

// ToolLLaMA's system-prompt edit (docs/toolbench-formats.md §c, toolllama_templates.json): a format hint is
// inserted after this sentence of the raw ReAct prompt, and the function list is appended.
const FORMAT_HINT_ANCHOR = 'with a function call to actually excute your step.';
const FORMAT_HINT = ' Your output should follow this format:\nThought:\nAction\nAction Input:\n';
const FUNCTIONS_JOINER = '\nSpecifically, you have access to the following APIs: ';

/**
 * The ToolLLaMA system prompt built from a trajectory's raw system message: the format hint after
 * the anchor sentence, then the joiner and Python `str()` of the function list.
 */
export function processSystemMessage(rawSystem: string, functions: readonly ToolFunction[]): string {
  const withHint = rawSystem.replaceAll(FORMAT_HINT_ANCHOR, () => FORMAT_HINT_ANCHOR + FORMAT_HINT);
  return withHint + FUNCTIONS_JOINER + pythonRepr(functions);
}

/**
 * Converts one parsed answer file. Invalid answers (`valid_data: false`) yield no instances. Read
 * the file with `parseJsonLossless` so that float/int distinctions in the function list survive
 * into the Python-repr text. `source` names the file in error messages.
 */
export function answerToConversations(answer: AnswerFile, source = '<answer>'): ToolLlamaConversation[] {
  const gen = answer.answer_generation;
  if (gen === null || typeof gen !== 'object') throw new Error(`${source}: missing "answer_generation"`);
  if (!gen.valid_data) return [];
  if (!Array.isArray(gen.train_messages)) {
    throw new Error(`${source}: valid answer without "answer_generation.train_messages"`);
  }
  if (!Array.isArray(gen.function)) throw new Error(`${source}: "answer_generation.function" is not a list`);
  const instances: ToolLlamaConversation[] = [];
  gen.train_messages.forEach((messages, k) => {
    const instance = prefixToConversation(messages, gen, `${source} train_messages[${k}]`);
    if (instance !== null) instances.push(instance);
  });
  return instances;
}

/**
 * One prefix → one instance, or null when its last message is an assistant message without a
 * function call (ToolBench skips those) or when it does not end with an assistant message.
 */
function prefixToConversation(
  messages: TrainMessage[],
  gen: AnswerFile['answer_generation'],
  where: string,
): ToolLlamaConversation | null {
  const conversations: ConversationTurn[] = [];
  // Thoughts from content-only assistant messages accumulate until the next function call.
  let react = '';
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const at = `${where}[${i}]`;
    if (m.role === 'assistant') {
      const isLast = i === messages.length - 1;
      const call = m.function_call;
      if (call === null || call === undefined) {
        if (isLast) return null;
        react += `\nThought: ${m.content ?? ''}`;
        continue;
      }
      if (typeof call.name !== 'string' || typeof call.arguments !== 'string') {
        throw new Error(`${at}: "function_call" needs string "name" and "arguments"`);
      }
      // The call message's own content is dropped, as in ToolBench: only separate thoughts survive.
      if (react === '') react = '\nThought: ';
      react += `\nAction: ${call.name}\nAction Input: ${call.arguments}`;
      conversations.push({ from: 'assistant', value: react });
      react = '';
      if (isLast) return { id: `Step ${i}: ${gen.query}`, conversations };
    } else if (m.role === 'system' || m.role === 'user' || m.role === 'function') {
      if (typeof m.content !== 'string') throw new Error(`${at}: "content" is not a string`);
      const value = m.role === 'system' ? processSystemMessage(m.content, gen.function) : m.content;
      conversations.push({ from: m.role, value });
      react = '';
    } else {
      throw new Error(`${at}: unknown role ${JSON.stringify((m as { role: unknown }).role)}`);
    }
  }
  return null;
}
