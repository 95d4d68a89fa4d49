import { expect, test } from "bun:test";
import { Counter, gauge, Histogram, routeLabel } from "../../src/observability/metrics.ts";

test("counters and histograms render in Prometheus text format", () => {
  const c = new Counter("x_total", "Things.");
  c.inc({ route: "/a", status: "200" });
  c.inc({ route: "/a", status: "200" });
  c.inc({ status: "500", route: "/b" });
  expect(c.render()).toBe(
    '# HELP x_total Things.\n# TYPE x_total counter\nx_total{route="/a",status="200"} 2\nx_total{route="/b",status="500"} 1',
  );
  const h = new Histogram("d_seconds", "Durations.", [1, 5]);
  h.observe(0.5);
  h.observe(3);
  h.observe(9);
  const text = h.render();
  expect(text).toContain('d_seconds_bucket{le="1"} 1');
  expect(text).toContain('d_seconds_bucket{le="5"} 2');
  expect(text).toContain('d_seconds_bucket{le="+Inf"} 3');
  expect(text).toContain("d_seconds_sum 12.5");
  expect(text).toContain("d_seconds_count 3");
  expect(gauge("g", "G.", [{ labels: { state: 'a"b' }, value: 2 }])).toContain('g{state="a\\"b"} 2');
});

test("route labels never carry ids", () => {
  expect(routeLabel("/api/v1/auth/sessions/0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f", 204)).toBe(
    "/api/v1/auth/sessions/:id",
  );
  expect(routeLabel("/anything/at/all", 404)).toBe("unmatched");
});
