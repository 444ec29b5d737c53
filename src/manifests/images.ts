/**
 * Container images that make a workload the stack's PostgreSQL, Redis or RabbitMQ: one matcher per
 * server, shared by the fact gathering (which workload is the database) and the edits (which
 * container's `-c max_connections` to rewrite), so the two never disagree. PostgreSQL covers the
 * official image, postgis, Bitnami's and CloudNativePG's operand images.
 */
export const POSTGRES_IMAGE = /(^|\/)(postgres|postgresql)(:|@|$)|postgis|bitnami\/postgresql|cloudnative-pg/;
export const REDIS_IMAGE = /(^|\/)(redis|valkey)(:|@|$)|redis-stack/;
export const RABBITMQ_IMAGE = /(^|\/)rabbitmq(:|@|$)/;
export const IMAGE_PATTERNS = [POSTGRES_IMAGE, REDIS_IMAGE, RABBITMQ_IMAGE];
