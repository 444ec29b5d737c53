/** Number formatting shared by the rules, the plain report and the UI. */

export function pct(ratio: number): string {
  const v = ratio * 100;
  return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} %`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Seconds as `12.5 s`, `1 m 5 s`, `2 h 3 m`: rounded first, so 119.7 s is `2 m 0 s`, never `1 m 60 s`. */
export function secs(s: number): string {
  if (s < 59.95) return `${Math.round(s * 10) / 10} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} m ${whole % 60} s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} m`;
}

/** A rate per second with at most one decimal. */
export function perSec(v: number): string {
  return `${Math.round(v * 10) / 10}/s`;
}

export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
