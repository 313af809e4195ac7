/**
 * @chaos-lab/fault-proxy — a TCP fault proxy driven by Toxiproxy 2.x's HTTP
 * API. Proxies sit between a client and a server; toxics (latency,
 * bandwidth, slow_close, timeout, reset_peer, slicer, limit_data) change what
 * passes, per connection and per direction, on open connections too. Use it
 * in-process (`startFaultProxy`) or as its own process (`dist/main.js`), and
 * drive it with any Toxiproxy client.
 */
export { startFaultProxy, type FaultProxyOptions, type StartedFaultProxy } from './fault-proxy.js';
export { TOXIPROXY_API_VERSION } from './http-api.js';
export {
  TOXIC_TYPES,
  TOXIC_STREAMS,
  type Toxic,
  type ToxicJson,
  type ToxicType,
  type ToxicStream,
  type ToxicAttributes,
} from './toxic.js';
export type { ProxyJson } from './proxy.js';
export * from './errors.js';
