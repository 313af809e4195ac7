export {
  KafkaMockCluster,
  StartedKafkaMock,
  type KafkaMockOptions,
  type KafkaMockStatus,
  type KafkaMockTopic,
} from './kafka-mock.js';
export { KAFKA_APIS, KAFKA_ERRORS, type KafkaApi, type KafkaErrorName } from './kafka-protocol.js';
