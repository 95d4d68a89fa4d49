// A small Prometheus text-format registry: counters and histograms kept in memory per process, gauges
// computed at scrape time. Labels never carry user ids or secrets.
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`)
    .join(",");
}

export class Counter {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1) {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

export class Histogram {
  private series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: number[],
  ) {}
  observe(value: number, labels: Labels = {}) {
    const k = key(labels);
    const s = this.series.get(k) ?? { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
    this.bounds.forEach((bound, i) => {
      if (value <= bound) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count++;
    this.series.set(k, s);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      this.bounds.forEach((bound, i) => {
        lines.push(`${this.name}_bucket{${sep}le="${bound}"} ${s.buckets[i]}`);
      });
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

export function gauge(name: string, help: string, samples: { labels?: Labels; value: number }[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const s of samples) {
    const k = key(s.labels ?? {});
    lines.push(`${name}${k ? `{${k}}` : ""} ${s.value}`);
  }
  return lines.join("\n");
}

export const metrics = {
  requests: new Counter("clawfleet_http_requests_total", "HTTP requests by route and status."),
  spawnSeconds: new Histogram(
    "clawfleet_spawn_duration_seconds",
    "Spawn request to ready.",
    [1, 2, 5, 10, 20, 30, 60, 120],
  ),
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** `/api/v1/auth/sessions/<uuid>` → `/api/v1/auth/sessions/:id`; unknown paths collapse to one label. */
export function routeLabel(path: string, status: number): string {
  if (status === 404) return "unmatched";
  return path
    .replace(UUID, ":id")
    .replace(/\/(spawn|freeze|restore|kill|drain|activate)$/, "/$1")
    .slice(0, 80);
}
