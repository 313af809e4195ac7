/**
 * Names for the numbers the mock broker's fault injection speaks: Kafka API
 * keys and Kafka error codes. Shared by the lab-side client (to validate and
 * type its arguments) and the host process (to translate before calling
 * librdkafka), so a scenario can say `NOT_COORDINATOR` instead of `16`.
 */

/**
 * The request types the librdkafka 2.0 mock broker implements. Errors pushed
 * for any other API key are accepted but never consumed, because no request
 * of that type is ever answered by the mock.
 */
export const KAFKA_APIS = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ApiVersions: 18,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  TxnOffsetCommit: 28,
} as const;

export type KafkaApi = keyof typeof KAFKA_APIS;

/**
 * Kafka error codes under their protocol names (Apache Kafka's `Errors`
 * enum) and, where librdkafka spells them differently, under librdkafka's
 * name too, since both appear in client logs. `_TRANSPORT` is librdkafka's
 * own: the mock broker answers it by closing the connection, the one way to
 * inject a disconnect on a chosen request.
 */
export const KAFKA_ERRORS = {
  _TRANSPORT: -195,
  UNKNOWN_SERVER_ERROR: -1,
  UNKNOWN: -1,
  NONE: 0,
  NO_ERROR: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  INVALID_MSG: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  UNKNOWN_TOPIC_OR_PART: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  NOT_LEADER_FOR_PARTITION: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  MSG_SIZE_TOO_LARGE: 10,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  CONCURRENT_TRANSACTIONS: 51,
  KAFKA_STORAGE_ERROR: 56,
  UNKNOWN_PRODUCER_ID: 59,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  UNSTABLE_OFFSET_COMMIT: 88,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
} as const;

export type KafkaErrorName = keyof typeof KAFKA_ERRORS;

/** librdkafka's error type is an int; Kafka carries error codes as int16 on the wire. */
export const MIN_ERROR_CODE = -200;
export const MAX_ERROR_CODE = 32767;

export function isKafkaApi(name: string): name is KafkaApi {
  return Object.hasOwn(KAFKA_APIS, name);
}

export function isKafkaErrorName(name: string): name is KafkaErrorName {
  return Object.hasOwn(KAFKA_ERRORS, name);
}
