/**
 * Text a PostgreSQL text column stores: NUL, which PostgreSQL refuses in text and jsonb, as U+FFFD. For strings
 * the services write that may quote anything (an error message, a broker's refusal).
 */
export function storableText(s: string): string {
  return s.replaceAll('\u0000', '\uFFFD');
}
