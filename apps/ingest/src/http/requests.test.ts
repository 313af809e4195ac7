import { describe, expect, it } from 'vitest';
import { RequestError } from '../errors.js';
import { RegisterBatchBody, UploadContentBody, essayIdsOf, parseRequest } from './requests.js';

function requestErrorOf(f: () => unknown): RequestError {
  try {
    f();
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error('the request was accepted');
}

describe('parseRequest', () => {
  it('names a nested field and its value', () => {
    const e = requestErrorOf(() => parseRequest(RegisterBatchBody, { batch_id: 'b', essay_ids: ['ok', 'not ok!'] }));
    expect(e.field).toBe('essay_ids.1');
    expect(e.value).toBe('not ok!');
  });

  it('names an unknown field', () => {
    const e = requestErrorOf(() => parseRequest(UploadContentBody, { original_file_name: 'a', text: 't', extra: 42 }));
    expect([e.field, e.value, e.problem]).toEqual(['extra', '42', 'is not a known field']);
  });

  it('names a missing field, and the body when it is not an object', () => {
    expect(requestErrorOf(() => parseRequest(UploadContentBody, { text: 't' })).field).toBe('original_file_name');
    const e = requestErrorOf(() => parseRequest(UploadContentBody, [1, 2]));
    expect([e.field, e.value]).toEqual(['body', '[1,2]']);
  });

  it('truncates a long value', () => {
    const e = requestErrorOf(() => parseRequest(RegisterBatchBody, { batch_id: 'x'.repeat(5000) }));
    expect(e.field).toBe('batch_id');
    expect(e.value?.length).toBeLessThan(300);
    expect(e.value).toContain('(5000 characters)');
  });
});

describe('essayIdsOf', () => {
  it('derives ids from a count', () => {
    expect(essayIdsOf({ batch_id: 'b', essay_count: 3 })).toEqual(['b-e0', 'b-e1', 'b-e2']);
  });

  it('requires exactly one of essay_ids and essay_count', () => {
    expect(requestErrorOf(() => essayIdsOf({ batch_id: 'b' })).problem).toContain('exactly one');
    const both = requestErrorOf(() => essayIdsOf({ batch_id: 'b', essay_ids: ['e'], essay_count: 1 }));
    expect(both.problem).toContain('not both');
    expect(both.value).toBe('{"essay_ids":["e"],"essay_count":1}');
  });

  it('refuses a batch id too long for its derived essay ids', () => {
    // 197 + "-e9" is exactly 200 characters; "-e10" is one too many.
    expect(essayIdsOf({ batch_id: 'b'.repeat(197), essay_count: 10 })).toHaveLength(10);
    expect(requestErrorOf(() => essayIdsOf({ batch_id: 'b'.repeat(197), essay_count: 11 })).field).toBe('batch_id');
  });
});
