/**
 * Every integration file's port offset, in one table so that two files never share ports (the
 * integration files run one at a time, but a file's leftovers must not meet the next one's).
 * Offsets are 100 apart and keep every service port below the kernel's ephemeral range (32768).
 *
 * SENTINEL_TEST_PORT_SHIFT (0–49) moves them all by that many ports, so two checkouts on one
 * machine can run their integration tests side by side.
 */
const OFFSETS = {
  stack: 11_000,
  stackPostgresOnly: 11_100,
  stackTwoServices: 11_200,
  stackStale: 11_300,
  stackSigint: 11_400,
  pipeline: 12_000,
  faults: 13_000,
  faultsRecovery: 13_100,
  api: 13_500,
  apiContract: 13_600,
  diagnose: 14_000,
  diagnoseProvoked: 14_100,
  diagnosePrometheus: 14_200,
  tuneLive: 15_100,
  audit: 16_000,
  // Kubernetes test clusters: etcd 2379/2380 and kube-apiserver 6443, each plus the offset.
  k8s: 16_100,
  cliConventions: 16_200,
  benchSentinel: 16_300,
  k8sTune: 16_400,
  // diagnose --k8s's data plane: the stack's services (offset) and the test cluster (offset + 50).
  k8sProxy: 16_500,
  k8sBench: 16_600,
  cliRest: 16_700,
} as const;

export type OffsetName = keyof typeof OFFSETS;

export function testOffset(name: OffsetName): number {
  const shift = Number(process.env.SENTINEL_TEST_PORT_SHIFT ?? 0);
  if (!Number.isInteger(shift) || shift < 0 || shift > 49) {
    throw new Error(`SENTINEL_TEST_PORT_SHIFT must be 0–49, got ${process.env.SENTINEL_TEST_PORT_SHIFT}`);
  }
  return OFFSETS[name] + shift;
}
