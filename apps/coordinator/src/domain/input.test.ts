import { describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES, topics } from '@chaos-lab/contracts';
import { parseInput } from './input.js';

const t = topics('x.');
const content = {
  event_id: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  event_type: 'essay.content.provisioned.v1',
  correlation_id: 'c',
  occurred_at: '2026-01-01T00:00:00.000Z',
  data: { batch_id: 'b1', text_storage_id: 't1', original_file_name: 'a.txt' },
};
const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseInput', () => {
  it('accepts a valid event on its own topic', () => {
    const r = parseInput(t.contentProvisioned, buf(content), t);
    expect(r.ok && r.event.data).toEqual(content.data);
  });

  it.each([
    ['empty', null, 'empty'],
    ['invalid json', '{"a":', 'invalid_json'],
    ['unknown type', { ...content, event_type: 'nope' }, 'unknown_event_type'],
    ['schema mismatch', { ...content, data: { batch_id: 'b1' } }, 'schema_mismatch'],
    ['bad id characters', { ...content, data: { ...content.data, batch_id: 'b 1' } }, 'schema_mismatch'],
    ['extra field', { ...content, data: { ...content.data, extra: 1 } }, 'schema_mismatch'],
  ])('dead-letters %s', (_name, value, category) => {
    const r = parseInput(t.contentProvisioned, value === null ? null : buf(value), t);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.category).toBe(category);
  });

  it('names the path of a schema mismatch', () => {
    const r = parseInput(t.contentProvisioned, buf({ ...content, data: { ...content.data, text_storage_id: '' } }), t);
    expect(!r.ok && r.reason).toMatch(/^schema_mismatch: data\.text_storage_id: /);
  });

  it('dead-letters an oversized message without parsing it', () => {
    const r = parseInput(t.contentProvisioned, Buffer.alloc(MAX_EVENT_BYTES + 1, 0x20), t);
    expect(!r.ok && r.category).toBe('oversized');
  });

  it('dead-letters an event on the wrong topic', () => {
    const r = parseInput(t.batchRegistered, buf(content), t);
    expect(!r.ok && r.reason).toContain('belongs on x.essay.content.provisioned');
  });

  describe('essay.validation.failed.v2', () => {
    const v2 = {
      ...content,
      event_type: 'essay.validation.failed.v2',
      data: { batch_id: 'b1', upload_id: 'up-1', original_file_name: 'essay.docx', reason: 'empty file' },
    };

    it('accepts it on the validation topic, upload id included', () => {
      const r = parseInput(t.validationFailed, buf(v2), t);
      expect(r.ok && r.event).toMatchObject({ event_type: 'essay.validation.failed.v2', data: v2.data });
    });

    it.each([
      ['without an upload id', { batch_id: 'b1', original_file_name: 'essay.docx', reason: 'r' }],
      ['with a bad upload id', { ...v2.data, upload_id: 'up 1' }],
      ['with an empty upload id', { ...v2.data, upload_id: '' }],
    ])('dead-letters it %s', (_name, data) => {
      const r = parseInput(t.validationFailed, buf({ ...v2, data }), t);
      expect(!r.ok && r.reason).toMatch(/^schema_mismatch: data\.upload_id: /);
    });

    it('dead-letters it on another topic', () => {
      const r = parseInput(t.contentProvisioned, buf(v2), t);
      expect(!r.ok && r.reason).toContain('belongs on x.essay.validation.failed');
    });
  });
});
