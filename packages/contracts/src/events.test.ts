import { describe, expect, it } from 'vitest';
import { ContentProvisionedData, DEAD_LETTER_RAW_LIMIT, ValidationFailedData, deadLetterText } from './events.js';

describe('Text fields of the input contracts', () => {
  const content = (name: string) =>
    ContentProvisionedData.safeParse({ batch_id: 'b', text_storage_id: 't', original_file_name: name });

  it('accept any Unicode text within bounds, emoji and control characters included', () => {
    expect(content('essay (1).docx').success).toBe(true);
    expect(content('😀 \t\u0001\u007f.txt').success).toBe(true);
    expect(content('x'.repeat(500)).success).toBe(true);
    expect(content('x'.repeat(501)).success).toBe(false);
  });

  it('refuse NUL and lone surrogates, which no store keeps as given, naming why', () => {
    const nul = content('a\u0000.txt');
    expect(nul.success).toBe(false);
    expect(nul.error?.issues[0]?.message).toBe('must not contain NUL (U+0000)');
    expect(content('a\ud800.txt').error?.issues[0]?.message).toBe('must not contain a lone surrogate');
    expect(content('a\udfff').success).toBe(false);
    expect(
      ValidationFailedData.safeParse({ batch_id: 'b', original_file_name: 'f', reason: 'bad\u0000' }).success,
    ).toBe(false);
  });
});

describe('deadLetterText', () => {
  it('is storable text for any bytes: NUL and invalid UTF-8 become U+FFFD', () => {
    expect(deadLetterText(Buffer.from([0x00]))).toBe('\uFFFD');
    expect(deadLetterText(Buffer.from([0xff, 0x41, 0xed, 0xa0, 0x80]))).toBe('\uFFFDA\uFFFD\uFFFD\uFFFD');
    expect(deadLetterText(null)).toBe('');
    expect(deadLetterText('lone \ud800 and \udc00')).toBe('lone \uFFFD and \uFFFD');
  });

  it('cuts at the limit without splitting a surrogate pair', () => {
    const split = deadLetterText(`${'x'.repeat(DEAD_LETTER_RAW_LIMIT - 1)}😀`);
    expect(split).toBe('x'.repeat(DEAD_LETTER_RAW_LIMIT - 1));
    expect(deadLetterText('y'.repeat(DEAD_LETTER_RAW_LIMIT + 10))).toHaveLength(DEAD_LETTER_RAW_LIMIT);
    const whole = deadLetterText(`${'x'.repeat(DEAD_LETTER_RAW_LIMIT - 2)}😀`);
    expect(whole).toHaveLength(DEAD_LETTER_RAW_LIMIT);
  });
});
