// Loaded before every test file (bunfig.toml). Tests must see the services scripts/services.sh starts;
// a missing one is a failure, never a skip.
process.env.CLAWFLEET_LOG_LEVEL ??= "warn";
