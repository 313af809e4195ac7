import { describe, expect, it } from 'vitest';
import {
  ContentProvisionedData,
  DEAD_LETTER_RAW_LIMIT,
  ValidationFailedData,
  deadLetterText,
  failureIdentity,
} from './events.js';

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

describe('failureIdentity', () => {
  it('is the upload for v2 and the file name for v1, as instances of the previous version key v1', () => {
    expect(failureIdentity({ original_file_name: 'essay.docx', upload_id: 'u1' })).toBe('upload:u1');
    expect(failureIdentity({ original_file_name: 'essay.docx' })).toBe('essay.docx');
    expect(failureIdentity({ original_file_name: 'essay.docx', upload_id: null })).toBe('essay.docx');
  });

  it('never gives a v1 name the identity of a v2 upload, nor two names one identity', () => {
    const names = ['upload:u1', '\\upload:u1', '\\\\upload:u1', 'upload:', '\\', 'x\\', 'uploads:u1'];
    const ids = names.map((n) => failureIdentity({ original_file_name: n }));
    expect(new Set(ids).size).toBe(names.length);
    expect(ids).not.toContain(failureIdentity({ original_file_name: 'any', upload_id: 'u1' }));
    expect(ids.filter((id) => id.startsWith('upload:'))).toEqual([]);
  });
});
