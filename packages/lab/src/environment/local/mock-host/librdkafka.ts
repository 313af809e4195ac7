/**
 * librdkafka's C API as the host uses it, bound through koffi: the handle and
 * mock cluster it creates and the mock's fault-injection calls.
 */
import { fail } from './stderr.js';

export const INSTALL_HINT = 'install it with `apt-get install librdkafka1`';

export type Ptr = unknown;

export interface Librdkafka {
  version(): string;
  err2name(err: number): string;
  confNew(): Ptr;
  confSet(conf: Ptr, name: string, value: string, errstr: Buffer, size: number): number;
  rdKafkaNew(type: number, conf: Ptr, errstr: Buffer, size: number): Ptr;
  rdKafkaDestroy(rk: Ptr): void;
  clusterNew(rk: Ptr, brokerCnt: number): Ptr;
  clusterDestroy(mc: Ptr): void;
  bootstraps(mc: Ptr): string;
  topicCreate(mc: Ptr, topic: string, partitions: number, replicationFactor: number): number;
  brokerSetDown(mc: Ptr, brokerId: number): number;
  brokerSetUp(mc: Ptr, brokerId: number): number;
  brokerSetRtt(mc: Ptr, brokerId: number, rttMs: number): number;
  partitionSetLeader(mc: Ptr, topic: string, partition: number, brokerId: number): number;
  pushRequestErrors(mc: Ptr, apiKey: number, cnt: number, errors: Int32Array): void;
  /** Variadic: `cnt` pairs of (error code, rtt ms), each preceded by its koffi type. */
  brokerPushRequestErrorRtts(mc: Ptr, brokerId: number, apiKey: number, cnt: number, ...pairs: unknown[]): number;
  brokerErrorStackCnt(mc: Ptr, brokerId: number, apiKey: number, cnt: [number]): number;
  coordinatorSet(mc: Ptr, keyType: string, key: string, brokerId: number): number;
  topicSetError(mc: Ptr, topic: string, err: number): void;
  setApiVersion(mc: Ptr, apiKey: number, minVersion: number, maxVersion: number): number;
}

export async function loadLibrdkafka(path: string): Promise<Librdkafka> {
  // Imported lazily so that a koffi without a prebuilt binary for this
  // platform ends in the same one-line hint instead of a stack trace.
  const koffi = (await import('koffi')).default;
  const lib = koffi.load(path);
  const f = (decl: string) => lib.func(decl);
  // Opaque handles travel as `void *`: the host never looks inside them.
  return {
    version: f('const char *rd_kafka_version_str(void)'),
    err2name: f('const char *rd_kafka_err2name(int err)'),
    confNew: f('void *rd_kafka_conf_new(void)'),
    confSet: f(
      'int rd_kafka_conf_set(void *conf, const char *name, const char *value, _Out_ uint8_t *errstr, size_t errstr_size)',
    ),
    rdKafkaNew: f('void *rd_kafka_new(int type, void *conf, _Out_ uint8_t *errstr, size_t errstr_size)'),
    rdKafkaDestroy: f('void rd_kafka_destroy(void *rk)'),
    clusterNew: f('void *rd_kafka_mock_cluster_new(void *rk, int broker_cnt)'),
    clusterDestroy: f('void rd_kafka_mock_cluster_destroy(void *mcluster)'),
    bootstraps: f('const char *rd_kafka_mock_cluster_bootstraps(void *mcluster)'),
    topicCreate: f(
      'int rd_kafka_mock_topic_create(void *mcluster, const char *topic, int partition_cnt, int replication_factor)',
    ),
    brokerSetDown: f('int rd_kafka_mock_broker_set_down(void *mcluster, int32_t broker_id)'),
    brokerSetUp: f('int rd_kafka_mock_broker_set_up(void *mcluster, int32_t broker_id)'),
    brokerSetRtt: f('int rd_kafka_mock_broker_set_rtt(void *mcluster, int32_t broker_id, int rtt_ms)'),
    partitionSetLeader: f(
      'int rd_kafka_mock_partition_set_leader(void *mcluster, const char *topic, int32_t partition, int32_t broker_id)',
    ),
    pushRequestErrors: f(
      'void rd_kafka_mock_push_request_errors_array(void *mcluster, int16_t ApiKey, size_t cnt, const int *errors)',
    ),
    brokerPushRequestErrorRtts: f(
      'int rd_kafka_mock_broker_push_request_error_rtts(void *mcluster, int32_t broker_id, int16_t ApiKey, size_t cnt, ...)',
    ),
    brokerErrorStackCnt: f(
      'int rd_kafka_mock_broker_error_stack_cnt(void *mcluster, int32_t broker_id, int16_t ApiKey, _Out_ size_t *cntp)',
    ),
    coordinatorSet: f(
      'int rd_kafka_mock_coordinator_set(void *mcluster, const char *key_type, const char *key, int32_t broker_id)',
    ),
    topicSetError: f('void rd_kafka_mock_topic_set_error(void *mcluster, const char *topic, int err)'),
    setApiVersion: f(
      'int rd_kafka_mock_set_apiversion(void *mcluster, int16_t ApiKey, int16_t MinVersion, int16_t MaxVersion)',
    ),
  } as Librdkafka;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

/** An rd_kafka_t handle and the mock cluster it anchors; a failure ends the host. */
export function createMockCluster(rd: Librdkafka, brokers: number): { rk: Ptr; mc: Ptr } {
  const errbuf = Buffer.alloc(512);
  const conf = rd.confNew();
  // The handle only anchors the mock cluster; it never talks to a broker, so
  // its own logging is turned down to keep the host log about the cluster.
  if (rd.confSet(conf, 'log_level', '3', errbuf, errbuf.length) !== 0) fail(`rd_kafka_conf_set: ${cString(errbuf)}`);
  const rk = rd.rdKafkaNew(0, conf, errbuf, errbuf.length);
  if (!rk) fail(`rd_kafka_new: ${cString(errbuf)}`);
  const mc = rd.clusterNew(rk, brokers);
  if (!mc) {
    rd.rdKafkaDestroy(rk);
    fail(`rd_kafka_mock_cluster_new(${brokers}) failed`);
  }
  return { rk, mc };
}
