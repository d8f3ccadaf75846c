/**
 * The demo's stand-in for pretraining: short conversations in which the assistant lists the topics
 * of a category, for every category, the held-out ones included. The study fine-tuned a model that
 * had read English, so an unseen category's words were words it knew; a model trained from random
 * weights has read only its SFT data. The glossary names no tool, no API and no query: a held-out
 * category's tools, their functions and its queries stay unseen. docs/demo.md measures it.
 */
import type { SeededRandom } from '../../src/model/random.js';
import type { ToolLlamaConversation } from '../../src/toolbench/render.js';
import { CATEGORY_TOPICS } from './catalogue.js';

/** `perCategory` conversations for each category, its topics in an order drawn from `rng` each time. */
export function glossaryConversations(rng: SeededRandom, perCategory: number): ToolLlamaConversation[] {
  const conversations: ToolLlamaConversation[] = [];
  for (const [category, topics] of Object.entries(CATEGORY_TOPICS)) {
    for (let i = 0; i < perCategory; i++) {
      const order = rng.shuffle([...topics]);
      conversations.push({
        id: `glossary ${category} ${i}`,
        conversations: [
          { from: 'user', value: `\nWhat does ${category} cover?\n` },
          { from: 'assistant', value: `\n${category} covers ${order.slice(0, -1).join(', ')} and ${order.at(-1)}.` },
        ],
      });
    }
  }
  return conversations;
}
