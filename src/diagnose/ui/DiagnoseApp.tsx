import { Box, type Key, Text, useApp, useInput, useStdout } from 'ink';
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import type { Series } from '../session.js';
import { type ComponentSummary, summaries } from '../summary.js';
import type { DiagnoseReport, Finding } from '../types.js';
import { ComponentDetail, FindingDetail } from './DetailView.js';
import { HelpView } from './HelpView.js';
import { PodDetail, PodLine, PodsTitle } from './K8sPane.js';
import { Sparkline } from './Sparkline.js';
import { severityColor, severityTag } from './theme.js';

/** Where reports come from: the live session, or canned reports in tests. */
export interface DiagnoseSource {
  tick(): Promise<DiagnoseReport>;
  readonly series: Series;
}

export interface DiagnoseAppProps {
  source: DiagnoseSource;
  intervalMs: number;
  taskQueue: string;
  /** Called once with the last report when the user quits. */
  onExit: (last: DiagnoseReport | undefined) => void;
  /** Screen size; defaults to the terminal's. */
  columns?: number;
  rows?: number;
  /** Arms the next refresh and returns its cancel function (setTimeout by default; tests drive it by hand). */
  schedule?: (run: () => void, ms: number) => () => void;
}

const timerSchedule = (run: () => void, ms: number) => {
  const t = setTimeout(run, ms);
  return () => clearTimeout(t);
};

/** `pods`: the Kubernetes pane, present when the report has a `kubernetes` view (diagnose --k8s). */
type Pane = 'components' | 'findings' | 'pods';
/** Orders of the findings list (s cycles): the ranking, or by component, or by rule id. */
export const sortModes = ['severity', 'component', 'id'] as const;
type SortMode = (typeof sortModes)[number];
const INTERVALS_MS = [500, 1000, 2000, 5000, 10_000, 30_000, 60_000];

function sortFindings(findings: Finding[], mode: SortMode): Finding[] {
  if (mode === 'severity') return findings;
  const key = (f: Finding) => (mode === 'component' ? `${f.component} ${f.id}` : f.id);
  return [...findings].sort((a, b) => key(a).localeCompare(key(b)));
}
type View =
  | { kind: 'overview' }
  | { kind: 'help' }
  | { kind: 'component'; name: string }
  | { kind: 'finding'; id: string }
  | { kind: 'pod'; name: string };

function matches(filter: string, ...fields: string[]): boolean {
  const f = filter.toLowerCase();
  return f === '' || fields.some((x) => x.toLowerCase().includes(f));
}

function clock(iso: string): string {
  return iso.slice(11, 19);
}

/**
 * The interactive view: one line per component, sparklines, and the findings ranked by severity;
 * enter drills into either, like pg_activity and k9s (docs/design.md "UI").
 */
export function DiagnoseApp({
  source,
  intervalMs,
  taskQueue,
  onExit,
  columns,
  rows,
  schedule = timerSchedule,
}: DiagnoseAppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  // The whole terminal: every column, and every row but the one the cursor rests on.
  const width = Math.max(40, (columns ?? stdout.columns ?? 80) - 1);
  const height = Math.max(16, rows ?? stdout.rows ?? 24);
  const [interval, setIntervalMs] = useState(intervalMs);
  const [sort, setSort] = useState<SortMode>('severity');
  const [report, setReport] = useState<DiagnoseReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [paused, setPaused] = useState(false);
  const [pane, setPane] = useState<Pane>('findings');
  const [selected, setSelected] = useState<Record<Pane, number>>({
    components: 0,
    findings: 0,
    pods: 0,
  });
  const [view, setView] = useState<View>({ kind: 'overview' });
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(false);
  const [ticks, setTicks] = useState(0);
  const busy = useRef(false);
  const last = useRef<DiagnoseReport | undefined>(undefined);

  const refresh = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      const r = await source.tick();
      last.current = r;
      setReport(r);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      busy.current = false;
      setTicks((t) => t + 1);
    }
  }, [source]);

  // One refresh now, then one per interval after the previous finished; none while paused.
  useEffect(() => {
    if (paused) return;
    return schedule(() => void refresh(), ticks === 0 ? 0 : interval);
  }, [paused, ticks, interval, refresh, schedule]);

  const k8s = report?.kubernetes;
  const comps: ComponentSummary[] = report
    ? summaries(report, taskQueue).filter(
        // On a cluster, the components it cannot reach (host, PostgreSQL/Redis without a URL) are left out.
        (s) => !(k8s && s.state === 'skipped') && matches(filter, s.name, s.state, s.line),
      )
    : [];
  const pods = k8s ? k8s.pods.filter((p) => matches(filter, p.name, p.status, p.lastTermination ?? '')) : [];
  const panes: Pane[] = k8s ? ['components', 'findings', 'pods'] : ['components', 'findings'];
  const findings: Finding[] = report
    ? sortFindings(
        report.findings.filter((f) => matches(filter, f.id, f.component, f.severity, f.title)),
        sort,
      )
    : [];
  const lists: Record<Pane, number> = {
    components: comps.length,
    findings: findings.length,
    pods: pods.length,
  };
  const sel = (p: Pane) => Math.min(selected[p], Math.max(0, lists[p] - 1));

  const quit = () => {
    onExit(last.current);
    exit();
  };

  // The input handler reads the latest render's state through a ref: keys can arrive faster than
  // ink re-subscribes a new handler, and a stale closure would drop them.
  const live = useRef({ editing, view, pane, panes, lists, comps, findings, pods, filter, selected });
  live.current = { editing, view, pane, panes, lists, comps, findings, pods, filter, selected };

  const handle = (input: string, key: Key) => {
    const L = live.current;
    if (key.ctrl && input === 'c') return quit();
    if (L.editing) {
      if (key.return) {
        live.current = { ...L, editing: false };
        setEditing(false);
      } else if (key.escape) {
        live.current = { ...L, editing: false };
        setFilter('');
        setEditing(false);
      } else if (key.backspace || key.delete) setFilter((f) => f.slice(0, -1));
      else if (input && !key.ctrl && !key.meta) setFilter((f) => f + input);
      setSelected({ components: 0, findings: 0, pods: 0 });
      return;
    }
    if (input === 'q') return quit();
    if (input === '?') return setView((v) => (v.kind === 'help' ? { kind: 'overview' } : { kind: 'help' }));
    if (input === ' ') return setPaused((p) => !p);
    if (input === 'r') return void refresh();
    if (input === 's') return setSort((m) => sortModes[(sortModes.indexOf(m) + 1) % sortModes.length]!);
    if (input === '+' || input === '-') {
      return setIntervalMs((ms) => {
        const i = INTERVALS_MS.findIndex((x) => x >= ms);
        const at = i < 0 ? INTERVALS_MS.length - 1 : i;
        return INTERVALS_MS[Math.max(0, Math.min(INTERVALS_MS.length - 1, at + (input === '+' ? 1 : -1)))]!;
      });
    }
    if (L.view.kind !== 'overview') {
      if (key.escape || key.backspace || key.delete || key.return || key.leftArrow)
        setView({ kind: 'overview' });
      return;
    }
    if (input === '/') {
      live.current = { ...L, editing: true };
      setEditing(true);
      return;
    }
    if (key.escape && L.filter) return setFilter('');
    if (key.tab || key.leftArrow || key.rightArrow) {
      const i = L.panes.indexOf(L.pane);
      const step = key.leftArrow || key.shift ? -1 : 1;
      const next: Pane = L.panes[(i + step + L.panes.length) % L.panes.length]!;
      live.current = { ...L, pane: next };
      return setPane(next);
    }
    const move = key.upArrow || input === 'k' ? -1 : key.downArrow || input === 'j' ? 1 : 0;
    if (move) {
      const p = L.pane;
      const n = L.lists[p];
      setSelected((s) => ({ ...s, [p]: Math.max(0, Math.min(n - 1, Math.min(s[p], n - 1) + move)) }));
      return;
    }
    if (key.return) {
      const i = Math.min(L.selected[L.pane], Math.max(0, L.lists[L.pane] - 1));
      if (L.pane === 'components' && L.comps[i]) setView({ kind: 'component', name: L.comps[i]!.name });
      if (L.pane === 'findings' && L.findings[i]) setView({ kind: 'finding', id: L.findings[i]!.id });
      if (L.pane === 'pods' && L.pods[i]) setView({ kind: 'pod', name: L.pods[i]!.name });
    }
  };

  useInput((input, key) => {
    // Keys that reach the program in one read (typed fast, pasted, sent by tmux) arrive as one
    // string: take them one character at a time, as if typed.
    if (input.length > 1 && !key.ctrl && !key.meta) {
      const plain = Object.fromEntries(Object.keys(key).map((k) => [k, false])) as unknown as Key;
      for (const ch of input) handle(ch, plain);
      return;
    }
    handle(input, key);
  });

  const counts = report?.counts;
  const header = (
    <Box width={width}>
      <Text wrap="truncate-end">
        <Text bold>{k8s ? 'diagnose --k8s' : 'sentinel-ctl diagnose'}</Text>
        {k8s ? (
          <Text dimColor>
            {' '}
            {k8s.context}/{k8s.namespace}
          </Text>
        ) : null}
        <Text dimColor>
          {' '}
          {report ? clock(report.at) : '--:--:--'} every {interval / 1000}s
          {sort === 'severity' ? '' : ` · by ${sort}`}{' '}
        </Text>
        {counts ? (
          <>
            <Text color={counts.critical ? 'red' : 'green'}>{counts.critical} crit</Text>{' '}
            <Text color={counts.warning ? 'yellow' : undefined}>{counts.warning} warn</Text>{' '}
            <Text>{counts.info} info</Text>
          </>
        ) : (
          <Text dimColor>collecting…</Text>
        )}
        {paused ? <Text color="magenta"> [PAUSED]</Text> : null}
        {filter || editing ? (
          <Text color="cyan">
            {' '}
            /{filter}
            {editing ? '▏' : ''}
          </Text>
        ) : null}
      </Text>
    </Box>
  );

  const footer = (
    <Text dimColor wrap="truncate-end">
      {editing
        ? 'type to filter · enter keep · esc clear'
        : view.kind === 'overview'
          ? k8s
            ? '↑↓ move · tab pane (pods) · enter details/events · / filter · ? help · q quit'
            : '↑↓ move · tab pane · enter details · s sort · +/- interval · / filter · ? help · q quit'
          : 'esc back · space pause · ? help · q quit'}
    </Text>
  );

  let body: ReactNode;
  if (view.kind === 'help') {
    body = <HelpView intervalMs={interval} />;
  } else if (view.kind === 'finding') {
    const f = report?.findings.find((x) => x.id === view.id);
    body = f ? (
      <FindingDetail finding={f} width={width} />
    ) : (
      <Text color="green">Resolved: {view.id} is gone.</Text>
    );
  } else if (view.kind === 'pod') {
    const p = k8s?.pods.find((x) => x.name === view.name);
    body =
      p && k8s ? (
        <PodDetail
          pod={p}
          view={k8s}
          findings={report!.findings.filter((f) => f.title.startsWith(`Pod/${p.name}`))}
          width={width}
          height={height - 3}
        />
      ) : (
        <Text color="green">Gone: Pod/{view.name} no longer exists.</Text>
      );
  } else if (view.kind === 'component') {
    const s = report ? summaries(report, taskQueue).find((x) => x.name === view.name) : undefined;
    body = s ? (
      <ComponentDetail
        summary={s}
        findings={report!.findings.filter((f) => f.component === s.name)}
        width={width}
      />
    ) : null;
  } else {
    // Rows: header, components title + one per component, sparklines, findings title, footer.
    // On a cluster the pods pane (title + rows) shares the findings' rows.
    const rest = height - 6 - comps.length - 1 - (k8s ? 1 : 0);
    const findingRows = Math.max(3, k8s ? Math.floor(rest / 2) : rest);
    const podRows = Math.max(3, rest - findingRows);
    const podStart = Math.max(0, Math.min(sel('pods') - Math.floor(podRows / 2), pods.length - podRows));
    const podsShown = pods.slice(podStart, podStart + podRows);
    const start = Math.max(
      0,
      Math.min(sel('findings') - Math.floor(findingRows / 2), findings.length - findingRows),
    );
    const shown = findings.slice(start, start + findingRows);
    const s = source.series;
    body = (
      <>
        <Text bold color={pane === 'components' ? 'blue' : undefined}>
          COMPONENTS
        </Text>
        {report ? null : <Text dimColor>first samples…</Text>}
        {comps.map((c, i) => {
          const on = pane === 'components' && i === sel('components');
          const worst = report?.findings.find((f) => f.component === c.name);
          return (
            <Box key={c.name} width={width}>
              <Text wrap="truncate-end" inverse={on}>
                {on ? '▸' : ' '}
                {c.name.padEnd(9)}
                <Text color={c.state === 'down' ? 'red' : worst ? severityColor[worst.severity] : 'green'}>
                  {(c.state === 'down' ? 'DOWN' : worst ? severityTag[worst.severity] : 'ok').padEnd(5)}
                </Text>
                {c.line}
              </Text>
            </Box>
          );
        })}
        <Box width={width} gap={2}>
          <Sparkline label="queue" values={s.queueDepth} />
          <Sparkline label="pub/s" values={s.publishRate} width={6} />
          <Sparkline label="dlv/s" values={s.deliverRate} width={6} />
          <Sparkline label="pg" values={s.pgConnections} width={6} />
          {width >= 100 && !k8s ? <Sparkline label="cpu" values={s.cpu} width={6} unit="%" /> : null}
        </Box>
        <Text bold color={pane === 'findings' ? 'blue' : undefined}>
          FINDINGS {findings.length}
          {start > 0 || start + findingRows < findings.length
            ? ` (${start + 1}-${Math.min(findings.length, start + findingRows)})`
            : ''}
        </Text>
        {report && findings.length === 0 ? (
          <Text color="green">{filter ? 'no match' : 'none: healthy'}</Text>
        ) : null}
        {shown.map((f, i) => {
          const on = pane === 'findings' && start + i === sel('findings');
          return (
            <Box key={f.id} width={width}>
              <Text wrap="truncate-end" inverse={on}>
                {on ? '▸' : ' '}
                <Text color={severityColor[f.severity]}>{severityTag[f.severity]}</Text>{' '}
                {f.component.padEnd(8)} {f.title}
              </Text>
            </Box>
          );
        })}
        {k8s ? (
          <>
            <PodsTitle
              count={pods.length}
              width={width}
              active={pane === 'pods'}
              range={
                podStart > 0 || podStart + podRows < pods.length
                  ? ` (${podStart + 1}-${Math.min(pods.length, podStart + podRows)})`
                  : ''
              }
            />
            {pods.length === 0 ? <Text dimColor>{filter ? 'no match' : 'no pods'}</Text> : null}
            {podsShown.map((p, i) => (
              <PodLine
                key={p.name}
                pod={p}
                width={width}
                selected={pane === 'pods' && podStart + i === sel('pods')}
              />
            ))}
          </>
        ) : null}
        {error ? <Text color="red">refresh failed: {error}</Text> : null}
      </>
    );
  }

  return (
    <Box flexDirection="column" width={width + 1} height={height - 1}>
      {header}
      <Box flexDirection="column" flexGrow={1}>
        {body}
      </Box>
      {footer}
    </Box>
  );
}
