/**
 * What the terminal allows: its width (`process.stdout.columns`, 80 when stdout is not a TTY,
 * COLUMNS when set), whether `-o wide` lifted the limit, and whether colour is allowed (NO_COLOR,
 * --no-color). Set once by the base command before a command runs; read by tables and wrappers.
 */

const state = { wide: false };

/** `-o wide`: tables keep every cell whole, however wide the lines get. */
export function setWide(wide: boolean): void {
  state.wide = wide;
}

export function isWide(): boolean {
  return state.wide;
}

/** Columns text output must fit in: the terminal's width, COLUMNS, or 80. */
export function terminalWidth(): number {
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env >= 20) return env;
  const cols = process.stdout.isTTY ? process.stdout.columns : undefined;
  return cols && cols >= 20 ? cols : 80;
}

/** Colour off when NO_COLOR is set (https://no-color.org) or --no-color was given. */
export function colorEnabled(): boolean {
  return !process.env.NO_COLOR && process.env.FORCE_COLOR !== '0';
}

/** Turns colour off for everything that runs after (chalk/ink, ansis, oclif's theme). */
export function disableColor(): void {
  process.env.NO_COLOR = '1';
  process.env.FORCE_COLOR = '0';
}

/** Word-wraps one paragraph to `width` columns; words longer than a line are cut. */
export function wrapText(text: string, width: number): string[] {
  if (width < 1) return [text];
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (let word of para.split(/ +/)) {
      while (word.length > width) {
        if (line) {
          out.push(line);
          line = '';
        }
        out.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        out.push(line);
        line = word;
      }
    }
    out.push(line);
  }
  return out;
}

/**
 * Wraps text to the terminal at spaces (a word, path or URL is never cut unless it alone is wider
 * than a line). A paragraph's leading spaces are kept, and its continuation lines are indented by
 * those plus `indent` more.
 */
export function wrapToTerminal(text: string, indent = 0): string {
  if (isWide()) return text;
  const width = terminalWidth();
  return text
    .split('\n')
    .map((para) => {
      const lead = /^ */.exec(para)![0];
      const body = para.slice(lead.length);
      const [first = '', ...rest] = wrapText(body, width - lead.length);
      const hang = lead + ' '.repeat(indent);
      const more = rest.length ? wrapText(rest.join(' '), width - hang.length) : [];
      return [lead + first, ...more.map((l) => hang + l)].join('\n');
    })
    .join('\n');
}

/**
 * Fits pre-formatted text (a report whose lines are already laid out) to the terminal: only lines
 * wider than it are wrapped, continuing under their own indentation.
 */
export function fitToTerminal(text: string): string {
  if (isWide()) return text;
  const width = terminalWidth();
  return text
    .split('\n')
    .map((line) => (line.length <= width ? line : wrapToTerminal(line, 2)))
    .join('\n');
}
