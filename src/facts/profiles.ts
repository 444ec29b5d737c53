/**
 * What a profile means when the facts do not say: the size of a worker pod, how far KEDA may scale
 * the workers, and how many worker replicas run without KEDA. API replicas and pools per profile
 * are the tuning guide's own table (src/tuners/pg-pool.ts `pgxProfileTable`).
 */
import type { Profile } from '../config/schema.js';
import { GIB, MIB, type Source, sources } from '../tuners/index.js';

export interface ProfileSizing {
  /**
   * A worker pod's CPU and memory. staging/prod: the tuning guide's "K8s Resource Requests" limits
   * (4 CPU, 2Gi), which give its default WORKER_POOL_SIZE of 4; dev: half of that, a worker that
   * fits the deployment guide's 2-core / 4 GB development machine.
   */
  workerCpuMillicores: number;
  workerMemoryBytes: number;
  /** KEDA maxReplicaCount: the guide's 50 in prod; fewer where the cluster is small (tool's choice). */
  kedaMaxReplicas: number;
  kedaMaxReplicasWhy: string;
  /** Worker replicas when KEDA does not scale them (the config's profile defaults). */
  workerReplicas: number;
  /** PostgreSQL pod CPU and memory for generated manifests. */
  postgresCpuMillicores: number;
  postgresMemoryBytes: number;
  /** Redis and RabbitMQ pod memory: the limit maxmemory and the watermark apply to. */
  redisMemoryBytes: number;
  rabbitmqMemoryBytes: number;
  /** API HPA bounds: the deployment guide's "API HPA (CPU-based)" 3–10 in prod. */
  apiHpaMax: number;
  /** Where apiHpaMax comes from: the deployment guide for prod, the tool's own choice otherwise. */
  apiHpaWhy: string;
  source: Source;
}

export const profileSizing: Record<Profile, ProfileSizing> = {
  dev: {
    workerCpuMillicores: 2000,
    workerMemoryBytes: 1 * GIB,
    kedaMaxReplicas: 4,
    kedaMaxReplicasWhy:
      'dev profile: a few worker pods on the 2-core / 4 GB development machine (tool default)',
    workerReplicas: 1,
    postgresCpuMillicores: 500,
    postgresMemoryBytes: 512 * MIB,
    redisMemoryBytes: 256 * MIB,
    rabbitmqMemoryBytes: 512 * MIB,
    apiHpaMax: 3,
    apiHpaWhy:
      "tool's choice, not a guide's: 1–3 replicas for a development machine (the deployment guide's \"API HPA\" gives only production's 3–10)",
    source: sources.workerResources,
  },
  staging: {
    workerCpuMillicores: 4000,
    workerMemoryBytes: 2 * GIB,
    kedaMaxReplicas: 10,
    kedaMaxReplicasWhy: 'staging profile: a fifth of production (tool default)',
    workerReplicas: 2,
    postgresCpuMillicores: 1000,
    postgresMemoryBytes: 2 * GIB,
    redisMemoryBytes: 256 * MIB,
    rabbitmqMemoryBytes: 1 * GIB,
    apiHpaMax: 6,
    apiHpaWhy:
      "tool's choice, not a guide's: 2–6 replicas, between development and the deployment guide's production 3–10",
    source: sources.workerResources,
  },
  prod: {
    workerCpuMillicores: 4000,
    workerMemoryBytes: 2 * GIB,
    kedaMaxReplicas: 50,
    kedaMaxReplicasWhy: 'the guide default',
    workerReplicas: 2,
    postgresCpuMillicores: 2000,
    postgresMemoryBytes: 4 * GIB,
    redisMemoryBytes: 512 * MIB,
    rabbitmqMemoryBytes: 2 * GIB,
    apiHpaMax: 10,
    apiHpaWhy: 'deployment guide "API HPA": 3–10 replicas at 70 % CPU',
    source: sources.workerResources,
  },
};
