import { describe, expect, it } from 'vitest';
import { judgeToolEval2023, TOOLEVAL_2023_REFUSAL_WORDS } from '../../src/eval/judges/tooleval2023.js';
import { answered, finishInput, temp } from './judges/trajectoryBuilder.js';

describe('ToolEval 2023 pass rule (pass_rate.py at b2384c2)', () => {
  it('passes any give_answer Finish without a refusal word, whatever the calls did', () => {
    const noCalls = answered([], 'The answer is 42.');
    expect(judgeToolEval2023(noCalls)).toMatchObject({ label: 'Solved', score: 1, reasons: ['give_answer'] });
    const failedCall = answered([temp({ error: 'API not working error...', response: '' })], 'It is warm.');
    expect(judgeToolEval2023(failedCall).label).toBe('Solved');
  });

  it.each(TOOLEVAL_2023_REFUSAL_WORDS)('fails an answer containing %j, in any case', (word) => {
    const t = answered([], `Here you go. ${word.toUpperCase()} for the delay.`);
    expect(judgeToolEval2023(t)).toMatchObject({ label: 'Unsolved', reasons: [`refusal_word:${word}`] });
  });

  it('checks the whole Finish argument text, not only the answer field', () => {
    const t = answered([], 'Fine.');
    const input = `{"return_type": "give_answer", "final_answer": "Fine.", "note": "sorry"}`;
    expect(judgeToolEval2023({ ...t, finalAnswer: input }).label).toBe('Unsolved');
  });

  it('does not count words the list lacks (a curly apostrophe, "cannot")', () => {
    expect(judgeToolEval2023(answered([], 'I couldn\u2019t find more; I cannot say.')).label).toBe('Solved');
  });

  it('fails a run without a give_answer Finish', () => {
    const t = answered([], 'x');
    expect(judgeToolEval2023({ ...t, finalAnswer: '' }).reasons).toEqual(['no_give_answer']);
    expect(judgeToolEval2023({ ...t, finalAnswer: finishInput('', 'give_up_and_restart') }).label).toBe('Unsolved');
    expect(judgeToolEval2023({ ...t, finalAnswer: '{"return_type": "give_answer"}' }).label).toBe('Unsolved');
  });
});
