// Loaded before every test file (bunfig.toml). The services come from scripts/services.sh (run by
// `npm test`); a missing one makes the tests that need it fail, never skip.
process.env.CLAWFLEET_LOG_LEVEL ??= "warn";
process.env.CLAWFLEET_TEST_PG_URL ??= "postgres://postgres@127.0.0.1:55432/postgres";
process.env.CLAWFLEET_TEST_CHROMIUM ??= "/usr/bin/chromium";
