// Browser assets are imported as text (`with { type: "text" }`) so `bun build --compile` embeds them.
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.client.js" {
  const text: string;
  export default text;
}
declare module "htmx.org/dist/htmx.min.js" {
  const text: string;
  export default text;
}
declare module "htmx.org/dist/ext/hx-sse.min.js" {
  const text: string;
  export default text;
}
declare module "@xterm/xterm/lib/xterm.js" {
  const text: string;
  export default text;
}
declare module "@xterm/addon-fit/lib/addon-fit.js" {
  const text: string;
  export default text;
}
declare module "*.svg" {
  const text: string;
  export default text;
}
declare module "*/api-reference/dist/browser/standalone.js" {
  const text: string;
  export default text;
}
